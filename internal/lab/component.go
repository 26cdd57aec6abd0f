package lab

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

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
		labCA{},
		// Servers of the services host that need nothing of each other:
		// started at once, they cost the slowest of them, not the sum.
		parallel{repo{}, printers{}, intranet{}, gateways{}, labDNS{}},
		openLDAP{},
		activeDirectory{},
		windowsHosts{},
		workstations{},
		inventoryFile{},
	}
}

// parallel is components started at the same time; each one's time is
// recorded, and its error named.
type parallel []component

func (p parallel) name() string {
	names := make([]string, len(p))
	for i, c := range p {
		names[i] = c.name()
	}
	return strings.Join(names, " + ")
}

func (p parallel) start(ctx context.Context, l *Lab) error {
	errs := make([]error, len(p))
	var wg sync.WaitGroup
	for i, c := range p {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			if err := c.start(ctx, l); err != nil {
				errs[i] = fmt.Errorf("%s: %w", c.name(), err)
			}
			l.timing(c.name(), time.Since(t0))
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
