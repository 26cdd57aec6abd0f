package stats

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteJSON writes the report as indented JSON; durations are in
// nanoseconds, like every duration onboard writes.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// period says which hires a report counts.
func period(r *Report) string {
	switch {
	case r.Since.IsZero() && r.Until.IsZero():
		return "all recorded hires"
	case r.Until.IsZero():
		return "hires started from " + day(r.Since)
	case r.Since.IsZero():
		return "hires started before " + day(r.Until)
	}
	return "hires started from " + day(r.Since) + " to before " + day(r.Until)
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02") }

// WriteText writes the report as a table, one line per group and a total,
// then the failures and the manual tasks of each group.
func WriteText(w io.Writer, r *Report) error {
	if r.Empty() {
		_, err := fmt.Fprintf(w, "no runs: no hire started in the period (%s, UTC)\n", period(r))
		return err
	}
	if _, err := fmt.Fprintf(w, "by %s, %s (UTC)\n\n", r.By, period(r)); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.ToUpper(r.By)+"\tHIRES\tREADY\tTO HANDOVER median/p90\tFIRST ATTEMPT\tESCALATED\tRESOLVED\tRESOLUTION median/p90\tMANUAL")
	all := append(append([]Group(nil), r.Groups...), *r.Total)
	for _, g := range all {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%d (%s)\t%d\t%d\t%s\t%d\n", g.Key, g.Hires, g.Ready, durs(g.ToHandover),
			g.FirstAttempt, pct(g.FirstAttemptRate), g.Escalated, g.Resolved, durs(g.Resolution), g.ManualHires)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Total.Failures) > 0 {
		fmt.Fprintln(w, "\nfailed steps (kind, phase, class):")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, g := range all {
			for _, f := range g.Failures {
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d\n", g.Key, f.Kind, f.Phase, orDash(f.Class), f.Count)
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(r.Total.Manual) > 0 {
		fmt.Fprintln(w, "\nleft to do by hand (hires):")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, g := range all {
			for _, m := range g.Manual {
				fmt.Fprintf(tw, "  %s\t%s\t%d\n", g.Key, m.Task, m.Hires)
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// WriteCSV writes one row per group, then the total (group "total"), with
// durations in seconds; a figure with nothing to measure is an empty cell,
// not a zero. An empty report is the header alone.
func WriteCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{r.By, "hires", "ready", "to_handover_count", "to_handover_median_s", "to_handover_p90_s",
		"first_attempt", "first_attempt_rate", "escalated", "resolved", "resolution_count", "resolution_median_s", "resolution_p90_s",
		"failures", "manual_hires", "manual"})
	if !r.Empty() {
		for _, g := range append(append([]Group(nil), r.Groups...), *r.Total) {
			var fs, ms []string
			for _, f := range g.Failures {
				fs = append(fs, fmt.Sprintf("%s/%s/%s=%d", f.Kind, f.Phase, f.Class, f.Count))
			}
			for _, m := range g.Manual {
				ms = append(ms, fmt.Sprintf("%s=%d", m.Task, m.Hires))
			}
			row := []string{g.Key, itoa(g.Hires), itoa(g.Ready)}
			row = append(row, csvDurs(g.ToHandover)...)
			row = append(row, itoa(g.FirstAttempt), strconv.FormatFloat(g.FirstAttemptRate, 'f', 4, 64), itoa(g.Escalated), itoa(g.Resolved))
			row = append(row, csvDurs(g.Resolution)...)
			row = append(row, strings.Join(fs, "; "), itoa(g.ManualHires), strings.Join(ms, "; "))
			_ = cw.Write(row)
		}
	}
	cw.Flush()
	return cw.Error()
}

func itoa(n int) string { return strconv.Itoa(n) }

func csvDurs(d *Durations) []string {
	if d == nil {
		return []string{"0", "", ""}
	}
	return []string{itoa(d.Count), secs(d.Median), secs(d.P90)}
}

func secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) }

// MedianP90 writes d as "median / p90" in days, hours and minutes, or
// "-" when nothing was measured.
func MedianP90(d *Durations) string { return durs(d) }

func durs(d *Durations) string {
	if d == nil {
		return "-"
	}
	return human(d.Median) + " / " + human(d.P90)
}

func pct(f float64) string { return strconv.FormatFloat(100*f, 'f', 0, 64) + "%" }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// human writes a duration in days, hours and minutes, the units a support
// team reports in; under a minute in seconds.
func human(d time.Duration) string {
	if d < time.Minute {
		return strconv.FormatFloat(d.Round(time.Second).Seconds(), 'f', 0, 64) + "s"
	}
	d = d.Round(time.Minute)
	days, h, m := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh %dm", days, h, m)
	case h > 0:
		return fmt.Sprintf("%dh %dm", h, m)
	}
	return fmt.Sprintf("%dm", m)
}
