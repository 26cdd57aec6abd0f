package ssh

import (
	"net"
	"syscall"
)

// withSocketOptions turns on TCP_NODELAY and keeps TCP_QUICKACK on. sshd
// turns on TCP_NODELAY only at a session's first command, so until then
// its second small packet waits (Nagle) for our ACK of the first, which
// Linux delays by up to 40 ms. Linux clears TCP_QUICKACK on its own, so it
// is set again after every read (one cheap syscall).
func withSocketOptions(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	_ = tc.SetNoDelay(true)
	raw, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	q := &quickAckConn{TCPConn: tc, raw: raw}
	q.quickAck()
	return q
}

type quickAckConn struct {
	*net.TCPConn
	raw syscall.RawConn
}

func (q *quickAckConn) quickAck() {
	_ = q.raw.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
}

func (q *quickAckConn) Read(p []byte) (int, error) {
	n, err := q.TCPConn.Read(p)
	q.quickAck()
	return n, err
}
