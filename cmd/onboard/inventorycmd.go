package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/hashicorp/go-multierror"
	"github.com/spf13/cobra"

	"onboard/internal/inventory"
	"onboard/internal/playbook"
	"onboard/internal/strictyaml"
)

// inventoryView is what a playbook can name, as onboard inventory -o json
// prints it. Only names and where things are: no credential references.
type inventoryView struct {
	Hosts       []hostView      `json:"hosts"`
	Groups      []groupView     `json:"groups"`
	Printers    []printerView   `json:"printers"`
	Software    []softwareView  `json:"software"`
	Directories []directoryView `json:"directories"`
	Profiles    []profileView   `json:"profiles"`
}

type hostView struct {
	Name      string   `json:"name"`
	Groups    []string `json:"groups"`
	OS        string   `json:"os"`
	Transport string   `json:"transport"`
	Address   string   `json:"address"`
	Port      int      `json:"port,omitempty"`
	Source    string   `json:"source"`
}

type groupView struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Hosts       []string `json:"hosts"`
}

type printerView struct {
	Name     string `json:"name"`
	URI      string `json:"uri,omitempty"`
	Location string `json:"location,omitempty"`
}

type softwareView struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	OS          []string `json:"os"`
}

type directoryView struct {
	Name string   `json:"name"`
	Kind string   `json:"kind"`
	URLs []string `json:"urls"`
}

type profileView struct {
	Name     string   `json:"name"`
	File     string   `json:"file"`
	Groups   []string `json:"groups"`
	Software []string `json:"software"`
	Printers []string `json:"printers"`
}

func (o *options) inventoryCommand() *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:        "inventory [list|graph]",
		SuggestFor: []string{"hosts", "ls", "graph"},
		Short:      "List what a playbook can name (hosts, groups, printers, software, directories, profiles), or graph it in DOT",
		Long: `onboard inventory list (the default) prints what playbooks can name: hosts with
their groups, transport and address, groups with their hosts, printers,
software (and for which OS), directories, and the role profiles found in the
profile folders. onboard inventory graph prints the same as a Graphviz DOT
graph: hosts to their groups, profiles to their software and printers
(onboard inventory graph | dot -Tsvg > inventory.svg).`,
		Args:      cobra.MaximumNArgs(1),
		ValidArgs: []string{"list", "graph"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(out); err != nil {
				return err
			}
			what := "list"
			if len(args) == 1 {
				what = args[0]
			}
			switch what {
			case "list", "graph":
			default:
				msg := fmt.Sprintf("%s has no command %q: it is list or graph", cmd.CommandPath(), what)
				for _, c := range []string{"list", "graph"} {
					if editDistance(what, c) <= 2 {
						msg = fmt.Sprintf("%s has no command %q; did you mean %s?", cmd.CommandPath(), what, c)
					}
				}
				return invalid(errors.New(msg))
			}
			if what == "graph" && out != "text" {
				return invalid(errors.New("onboard inventory graph prints DOT: drop -o json (onboard inventory list -o json is the JSON)"))
			}
			v, err := o.inventoryView()
			if err != nil {
				return err
			}
			switch {
			case what == "graph":
				return writeInventoryDOT(o.stdout, v)
			case out == "json":
				return writeJSONTo(o.stdout, v)
			}
			return writeInventoryText(o.stdout, v)
		},
	}
	f := c.Flags()
	f.StringArrayVarP(&o.inventory, "inventory", "i", nil, "inventory file or folder `PATH` (repeatable; default ./inventory)")
	f.StringArrayVar(&o.profiles, "profiles", nil, "folder `DIR` of role profiles, searched first (repeatable); then the inventory's profile folders, ./playbooks/profiles")
	addOutput(c, &out, "an object of hosts, groups, printers, software, directories and profiles")
	return c
}

// inventoryView loads the inventory and the profiles a playbook could
// name; any error is reported as validate reports it.
func (o *options) inventoryView() (*inventoryView, error) {
	var errs *multierror.Error
	inv, err := inventory.Load(o.inventoryPaths()...)
	errs = multierror.Append(errs, err)
	if err := errs.ErrorOrNil(); err != nil || inv == nil {
		errs.ErrorFormat = strictyaml.ListFormat
		return nil, invalid(errs)
	}
	v := &inventoryView{}
	members := map[string][]string{}
	for _, name := range inv.Names("hosts") {
		h, err := inv.Host(name)
		if err != nil {
			return nil, invalid(err)
		}
		groups := append([]string(nil), inv.Hosts[name].Groups...)
		if _, ok := inv.Groups["all"]; ok && !slices.Contains(groups, "all") {
			groups = append([]string{"all"}, groups...)
		}
		for _, g := range groups {
			members[g] = append(members[g], name)
		}
		v.Hosts = append(v.Hosts, hostView{Name: name, Groups: groups, OS: h.OS, Transport: h.Transport,
			Address: h.Address, Port: h.Port, Source: h.Source})
	}
	for _, name := range inv.Names("groups") {
		v.Groups = append(v.Groups, groupView{Name: name, Description: inv.Groups[name].Description, Hosts: nonNil(members[name])})
	}
	for _, name := range inv.Names("printers") {
		p := inv.Printers[name]
		uri := p.URI
		if p.Connection != "" {
			uri = p.Connection
		}
		v.Printers = append(v.Printers, printerView{Name: name, URI: uri, Location: p.Location})
	}
	for _, name := range inv.Names("software") {
		s := inv.Software[name]
		var oses []string
		for _, x := range []struct {
			os string
			in *inventory.Install
		}{{"linux", s.Linux}, {"macos", s.MacOS}, {"windows", s.Windows}} {
			if x.in != nil {
				oses = append(oses, x.os)
			}
		}
		v.Software = append(v.Software, softwareView{Name: name, Description: s.Description, OS: nonNil(oses)})
	}
	for _, name := range inv.Names("directories") {
		d := inv.Directories[name]
		v.Directories = append(v.Directories, directoryView{Name: name, Kind: d.Kind, URLs: d.URLs})
	}
	// Profiles, as a playbook finds them: the first folder holding
	// NAME.yaml wins (profiles/ beside a playbook is not known here).
	dirs := append(append(append([]string(nil), o.profiles...), inv.ProfileDirs()...), filepath.Join("playbooks", "profiles"))
	seen := map[string]bool{}
	for _, d := range dirs {
		entries, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range entries {
			n := e.Name()
			ext := filepath.Ext(n)
			name := strings.TrimSuffix(n, ext)
			if e.IsDir() || (ext != ".yaml" && ext != ".yml") || seen[name] {
				continue
			}
			seen[name] = true
			pr, err := playbook.LoadProfile(filepath.Join(d, n))
			errs = multierror.Append(errs, err)
			if pr == nil {
				continue
			}
			v.Profiles = append(v.Profiles, profileView{Name: name, File: pr.File, Groups: nonNil(pr.Groups),
				Software: nonNil(pr.Software), Printers: nonNil(pr.Printers)})
		}
	}
	if err := errs.ErrorOrNil(); err != nil {
		errs.ErrorFormat = strictyaml.ListFormat
		return nil, invalid(errs)
	}
	sort.Slice(v.Profiles, func(i, j int) bool { return v.Profiles[i].Name < v.Profiles[j].Name })
	return v, nil
}

// nonNil makes an empty list print as [] in JSON, not null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func writeInventoryText(w io.Writer, v *inventoryView) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	section := func(title string, n int) {
		fmt.Fprintf(tw, "%s (%d):\n", title, n)
	}
	section("hosts", len(v.Hosts))
	for _, h := range v.Hosts {
		addr := h.Address
		if h.Port != 0 {
			addr += ":" + strconv.Itoa(h.Port)
		}
		fmt.Fprintf(tw, "  %s\t%s/%s\t%s\tgroups: %s\n", h.Name, orDash(h.OS), orDash(h.Transport), orDash(addr), orDash(strings.Join(h.Groups, ", ")))
	}
	section("groups", len(v.Groups))
	for _, g := range v.Groups {
		fmt.Fprintf(tw, "  %s\t%s\thosts: %s\n", g.Name, orDash(g.Description), orDash(strings.Join(g.Hosts, ", ")))
	}
	section("printers", len(v.Printers))
	for _, p := range v.Printers {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", p.Name, orDash(p.URI), p.Location)
	}
	section("software", len(v.Software))
	for _, s := range v.Software {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", s.Name, orDash(strings.Join(s.OS, ", ")), s.Description)
	}
	section("directories", len(v.Directories))
	for _, d := range v.Directories {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", d.Name, d.Kind, strings.Join(d.URLs, ", "))
	}
	section("profiles", len(v.Profiles))
	for _, p := range v.Profiles {
		fmt.Fprintf(tw, "  %s\tsoftware: %s\tprinters: %s\tgroups: %s\n", p.Name, orDash(strings.Join(p.Software, ", ")),
			orDash(strings.Join(p.Printers, ", ")), orDash(strings.Join(p.Groups, ", ")))
	}
	return tw.Flush()
}

// writeInventoryDOT prints the inventory as a Graphviz digraph: each node
// is named KIND:NAME, so a host and a group of one name stay apart.
func writeInventoryDOT(w io.Writer, v *inventoryView) error {
	var b strings.Builder
	q := strconv.Quote
	node := func(kind, name, shape string) {
		fmt.Fprintf(&b, "  %s [label=%s, shape=%s];\n", q(kind+":"+name), q(name), shape)
	}
	edge := func(fromKind, from, toKind, to string) {
		fmt.Fprintf(&b, "  %s -> %s;\n", q(fromKind+":"+from), q(toKind+":"+to))
	}
	b.WriteString("digraph inventory {\n  rankdir=LR;\n")
	for _, g := range v.Groups {
		node("group", g.Name, "ellipse")
	}
	for _, h := range v.Hosts {
		node("host", h.Name, "box")
	}
	for _, s := range v.Software {
		node("software", s.Name, "component")
	}
	for _, p := range v.Printers {
		node("printer", p.Name, "cds")
	}
	for _, p := range v.Profiles {
		node("profile", p.Name, "note")
	}
	for _, h := range v.Hosts {
		for _, g := range h.Groups {
			edge("host", h.Name, "group", g)
		}
	}
	for _, p := range v.Profiles {
		for _, s := range p.Software {
			edge("profile", p.Name, "software", s)
		}
		for _, pr := range p.Printers {
			edge("profile", p.Name, "printer", pr)
		}
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}
