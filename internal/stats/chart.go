package stats

import "strconv"

// Chart is a bar chart of a report, laid out for an SVG drawn by a
// template (the status page of onboard serve): one bar per group, its
// height the hires, the part ready at the first attempt drawn over it.
// Every number is a coordinate in the chart's own units; every string is
// plain text for the template to escape.
type Chart struct {
	Width, Height int
	// Base is the y of the bars' foot; Top the y of the tallest bar's top.
	Base, Top int
	// Max is the hires of the tallest bar, written at the axis.
	Max  int
	Bars []Bar
}

// Bar is one group of a chart.
type Bar struct {
	Label string
	X, W  int
	// Y and H: the bar of all hires; FirstY and FirstH: the part ready
	// at the first attempt.
	Y, H, FirstY, FirstH int
	// Title is the bar's figures in words (shown on hover).
	Title string
}

// Chart geometry.
const (
	chartBar    = 36 // a bar's width
	chartGap    = 14
	chartLeft   = 40 // room for the axis label
	chartTop    = 20
	chartHeight = 160 // of the tallest bar
	chartFoot   = 24  // room for the labels under the bars
)

// NewChart lays out r; nil when r is empty (the page says "no runs"
// rather than draw an empty chart).
func NewChart(r *Report) *Chart {
	if r == nil || r.Empty() || len(r.Groups) == 0 {
		return nil
	}
	c := &Chart{Top: chartTop, Base: chartTop + chartHeight}
	for _, g := range r.Groups {
		c.Max = max(c.Max, g.Hires)
	}
	c.Width = chartLeft + len(r.Groups)*(chartBar+chartGap) + chartGap
	c.Height = c.Base + chartFoot
	scale := func(n int) int { return (n*chartHeight + c.Max/2) / c.Max }
	for i, g := range r.Groups {
		b := Bar{Label: g.Key, X: chartLeft + chartGap + i*(chartBar+chartGap), W: chartBar,
			H: scale(g.Hires), FirstH: scale(g.FirstAttempt)}
		b.Y, b.FirstY = c.Base-b.H, c.Base-b.FirstH
		b.Title = g.Key + ": " + strconv.Itoa(g.Hires) + " hires, " + strconv.Itoa(g.Ready) + " ready, " +
			strconv.Itoa(g.FirstAttempt) + " at the first attempt (" + pct(g.FirstAttemptRate) + ")"
		if g.ToHandover != nil {
			b.Title += ", median to handover " + human(g.ToHandover.Median)
		}
		c.Bars = append(c.Bars, b)
	}
	return c
}
