//go:build !linux

package ssh

import "net"

// withSocketOptions turns on TCP_NODELAY (TCP_QUICKACK is Linux only).
func withSocketOptions(c net.Conn) net.Conn {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	return c
}
