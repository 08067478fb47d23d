package harness

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// echoServer answers each connection with what it reads, then closes.
func echoServer(t *testing.T) string {
	return serveTCP(t, func(c net.Conn) {
		b, _ := io.ReadAll(c)
		c.Write(b)
	}).Addr().String()
}

// serveTCP listens on 127.0.0.1 and handles each connection, then closes
// it, until the test ends.
func serveTCP(t *testing.T, handle func(net.Conn)) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return ln
}

// A shaped link takes the delay each way plus the bytes at its rate,
// and the proxy counts the request lines that crossed it, also one
// split across writes.
func TestProxyShapesAndCountsRequests(t *testing.T) {
	p, err := NewProxy(echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.SetLink(&Link{Rate: 1 << 20, Delay: 50 * time.Millisecond})
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte{0}, 256<<10)
	parts := [][]byte{[]byte("POST /api/fwbuild/2.20.0/plan HTTP/1.1\r\nHost: x\r\n\r\n"), body,
		[]byte("GET /api/fwbuild/progress/ab HT"), []byte("TP/1.1\r\n\r\n")}
	start := time.Now()
	for _, b := range parts {
		c.Write(b)
	}
	c.(*net.TCPConn).CloseWrite()
	got, _ := io.ReadAll(c)
	took := time.Since(start)
	c.Close()
	// Handshake (2 delays), there and back (2 delays), 256 KiB each way
	// at 1 MiB/s (pipelined: at least one 0.25 s).
	if min := 4*50*time.Millisecond + 250*time.Millisecond; took < min {
		t.Errorf("took %v through the link, want at least %v", took, min)
	}
	if !bytes.Equal(got, bytes.Join(parts, nil)) {
		t.Errorf("echoed %d bytes", len(got))
	}
	if conns, reqs := p.Trips(); conns != 1 || reqs != 2 {
		t.Errorf("counted %d connections, %d requests; want 1 and 2", conns, reqs)
	}
}
