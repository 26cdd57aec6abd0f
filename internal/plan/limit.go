package plan

import (
	"fmt"
	"path"
	"strings"
)

// Limit is a selection of hires, as Ansible's --limit selects hosts: a
// list of patterns, each an employee id or a host name, with the globs of
// path.Match (*, ?, [a-z]) and compared ignoring case. A pattern starting
// with "!" excludes what it matches. A hire is selected when it matches a
// pattern without "!" (or there is none) and none with "!".
type Limit []string

// ParseLimit splits --limit values on commas (each value may hold several
// patterns, as in Ansible) and checks each pattern's syntax.
func ParseLimit(values []string) (Limit, error) {
	var l Limit
	for _, v := range values {
		for _, p := range strings.Split(v, ",") {
			p = strings.TrimSpace(p)
			if p == "" || p == "!" {
				continue
			}
			if _, err := path.Match(strings.ToLower(strings.TrimPrefix(p, "!")), ""); err != nil {
				return nil, fmt.Errorf("--limit %s: %w", p, err)
			}
			l = append(l, p)
		}
	}
	return l, nil
}

// matches reports whether the pattern matches the hire (its employee id or
// its host).
func matches(pattern string, h Hire) bool {
	for _, name := range []string{h.ID, h.Host} {
		if name == "" {
			continue
		}
		if ok, _ := path.Match(strings.ToLower(pattern), strings.ToLower(name)); ok {
			return true
		}
	}
	return false
}

// Select returns the part of p that the limit selects: the selected hires,
// their steps, and the hosts and directories those steps use. A pattern
// that selects nothing is an error (a mistyped host must not run the rest
// unnoticed), and so is a limit that leaves no hire. An empty limit
// returns p.
func (l Limit) Select(p *Plan) (*Plan, error) {
	if len(l) == 0 {
		return p, nil
	}
	var include, exclude []string
	for _, pat := range l {
		if rest, ok := strings.CutPrefix(pat, "!"); ok {
			exclude = append(exclude, rest)
		} else {
			include = append(include, pat)
		}
	}
	used := map[string]bool{}
	keep := map[string]bool{}
	for _, h := range p.Hires {
		in := len(include) == 0
		for _, pat := range include {
			if matches(pat, h) {
				in, used[pat] = true, true
			}
		}
		for _, pat := range exclude {
			if matches(pat, h) {
				in, used["!"+pat] = false, true
			}
		}
		if in {
			keep[h.ID] = true
		}
	}
	var unused []string
	for _, pat := range l {
		if !used[pat] {
			unused = append(unused, pat)
		}
	}
	if len(unused) > 0 {
		return nil, fmt.Errorf("--limit %s: no hire or host of the plan matches (employee ids and host names; globs with *, ?, [...])", strings.Join(unused, ","))
	}
	if len(keep) == 0 {
		return nil, fmt.Errorf("--limit %s leaves no hire to run", strings.Join(l, ","))
	}
	out := *p
	out.Hires, out.Steps, out.Sources = nil, nil, nil
	out.Hosts, out.Directories = map[string]*Host{}, map[string]*Directory{}
	for _, h := range p.Hires {
		if keep[h.ID] {
			out.Hires = append(out.Hires, h)
			out.Sources = append(out.Sources, h.Source)
			if hh, ok := p.Hosts[h.Host]; ok {
				out.Hosts[h.Host] = hh
			}
		}
	}
	kept := map[string]bool{}
	for _, s := range p.Steps {
		if keep[s.Hire] {
			out.Steps = append(out.Steps, s)
			kept[s.ID] = true
			if s.Host != "" {
				out.Hosts[s.Host] = p.Hosts[s.Host]
			}
			if s.Directory != "" {
				out.Directories[s.Directory] = p.Directories[s.Directory]
			}
		}
	}
	for _, s := range out.Steps {
		for _, d := range s.DependsOn {
			if !kept[d] {
				return nil, fmt.Errorf("--limit: step %s of hire %s depends on %s, which the limit leaves out", s.ID, s.Hire, d)
			}
		}
	}
	if len(out.Directories) == 0 {
		out.Directories = nil
	}
	return &out, nil
}
