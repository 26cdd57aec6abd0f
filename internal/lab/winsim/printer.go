package winsim

import (
	"strings"
)

// Printers: drivers, per-machine connections (printui /ga) and what the
// spooler shows.

// wildcardMatch is PowerShell's WildcardPattern, case-insensitive: * any
// run, ? one character, [abc] / [a-z] a set, ` escapes the next character.
func wildcardMatch(pattern, s string) bool {
	p, t := []rune(strings.ToLower(pattern)), []rune(strings.ToLower(s))
	var match func(i, j int) bool
	match = func(i, j int) bool {
		for i < len(p) {
			switch p[i] {
			case '*':
				for k := j; k <= len(t); k++ {
					if match(i+1, k) {
						return true
					}
				}
				return false
			case '?':
				if j >= len(t) {
					return false
				}
				i, j = i+1, j+1
			case '[':
				end := i + 1
				for end < len(p) && p[end] != ']' {
					end++
				}
				if end >= len(p) || j >= len(t) {
					return false // an unclosed [ matches nothing, as WildcardPattern
				}
				set, ok := p[i+1:end], false
				for k := 0; k < len(set); k++ {
					if k+2 < len(set) && set[k+1] == '-' {
						if t[j] >= set[k] && t[j] <= set[k+2] {
							ok = true
						}
						k += 2
					} else if set[k] == t[j] {
						ok = true
					}
				}
				if !ok {
					return false
				}
				i, j = end+1, j+1
			case '`':
				if i+1 < len(p) {
					i++
				}
				fallthrough
			default:
				if j >= len(t) || p[i] != t[j] {
					return false
				}
				i, j = i+1, j+1
			}
		}
		return j == len(t)
	}
	return match(0, 0)
}

func anyMatch(pattern string, names map[string]string) bool {
	for _, n := range names {
		if wildcardMatch(pattern, n) {
			return true
		}
	}
	return false
}

// connectionKey is the registry key name of a per-machine connection, as
// the script builds it: $in.connection.TrimStart('\').Split('\') gives
// server and share (PowerShell yields $null past the end).
func connectionKey(conn string) string {
	parts := strings.Split(strings.TrimLeft(conn, `\`), `\`)
	server, share := parts[0], ""
	if len(parts) > 1 {
		share = parts[1]
	}
	return strings.ToLower(",," + server + "," + share)
}

// offered is the driver the print server of conn offers.
func (h *Host) offered(conn string) (string, bool) {
	for k, d := range h.cfg.Printers {
		if strings.EqualFold(k, conn) {
			return d, true
		}
	}
	return "", false
}

func opPrinterCheck(v *inv) int {
	h := v.h
	conn, driver := v.str("connection"), v.str("driver")
	h.mu.Lock()
	defer h.mu.Unlock()
	machineWide := false
	for c := range h.connections {
		if connectionKey(c) == connectionKey(conn) {
			machineWide = true
		}
	}
	return v.result(
		field{"driver", anyMatch(driver, h.drivers)},
		field{"machine_wide", machineWide},
		field{"printer", anyMatch(conn, h.visible)},
	)
}

func opPrinterAdd(v *inv) int {
	h := v.h
	conn, driver := v.str("connection"), v.str("driver")
	h.mu.Lock()
	defer h.mu.Unlock()
	if !anyMatch(driver, h.drivers) {
		// Add-PrinterDriver installs a driver from the driver store: one
		// the print server offers, or one already staged there.
		ok := false
		if d, found := h.offered(conn); found && strings.EqualFold(d, driver) {
			ok = true
		}
		for _, d := range h.cfg.DriverStore {
			if strings.EqualFold(d, driver) {
				ok = true
			}
		}
		if !ok {
			return v.fail(&psError{Command: "Add-PrinterDriver", Message: "The specified driver does not exist in the driver store.",
				Statement: "Add-PrinterDriver -Name $in.driver", Category: "NotSpecified",
				Target: "MSFT_PrinterDriver:ROOT/StandardCimv2/MSFT_PrinterDriver", Exception: "CimException",
				ErrorID: "HRESULT 0x80070705,Add-PrinterDriver"})
		}
		h.drivers[strings.ToLower(driver)] = driver
	}
	// rundll32 printui.dll,PrintUIEntry /ga /n "\\server\share"
	offeredDriver, ok := h.offered(conn)
	if !ok {
		return v.result(field{"exit_code", 1})
	}
	h.connections[strings.ToLower(conn)] = conn
	h.drivers[strings.ToLower(offeredDriver)] = offeredDriver // point and print
	// Restart-Service Spooler: the per-machine connections appear.
	for k, c := range h.connections {
		h.visible[k] = c
	}
	return v.result(field{"exit_code", 0})
}
