package lab

import "context"

// component is one part of a lab. Start runs the components in order; a
// component keeps its processes in the lab's network namespaces and its files
// in Config.Dir, so Teardown removes it without knowing it. A new server
// (slapd, a Samba DC, WinRM) is one more component with a host of its own.
type component interface {
	name() string
	start(ctx context.Context, l *Lab) error
}

// components returns the lab's components in start order.
func components() []component {
	return []component{
		baseImage{},
		network{},
		services{},
		repo{},
		printers{},
		labCA{},
		intranet{},
		gateways{},
		openLDAP{},
		activeDirectory{},
		windowsHosts{},
		labDNS{},
		workstations{},
		inventoryFile{},
	}
}
