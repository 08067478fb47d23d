//go:build linux

package harness

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"
	"time"
)

// The tbf holds a transfer through the shaped port to the rate, and one
// to another port, or with the shaping off, goes as fast as lo. The test
// runs itself again in a network namespace of its own.
func TestTBFEnforcesRate(t *testing.T) {
	if !InNetns() {
		if err := CheckNetns(); err != nil {
			t.Skipf("no tbf in a network namespace here: %v", err)
		}
		var out bytes.Buffer
		code, err := RunInNetns(context.Background(), []string{"-test.run=^TestTBFEnforcesRate$", "-test.v"}, &out, &out)
		t.Logf("in the namespace:\n%s", out.String())
		if err != nil || code != 0 {
			t.Fatalf("the test in the namespace: exit code %d, %v", code, err)
		}
		return
	}
	tbf, err := NewTBF()
	if err != nil {
		t.Fatal(err)
	}
	defer tbf.Reset()
	shaped, other := sink(t), sink(t)
	const size = 2_000_000
	// 8 Mbit/s: 2 MB take 2 s less the 256 KiB burst, about 1.7 s.
	if err := tbf.Shape(1_000_000, shaped.Addr().(*net.TCPAddr).Port); err != nil {
		t.Fatal(err)
	}
	if took := send(t, shaped.Addr().String(), size); took < 1400*time.Millisecond {
		t.Errorf("2 MB at 8 Mbit/s took %v, want at least 1.4 s", took)
	}
	if sent, err := tbf.Sent(); err != nil || sent < size {
		t.Errorf("the tbf passed %d bytes (%v), want at least %d", sent, err, size)
	}
	if took := send(t, other.Addr().String(), size); took > time.Second {
		t.Errorf("2 MB to a port not shaped took %v, want well under 1 s", took)
	}
	if err := tbf.Shape(0, 0); err != nil {
		t.Fatal(err)
	}
	if took := send(t, shaped.Addr().String(), size); took > time.Second {
		t.Errorf("2 MB with the shaping off took %v, want well under 1 s", took)
	}
}

// sink listens on 127.0.0.1 and reads each connection to its end.
func sink(t *testing.T) net.Listener {
	return serveTCP(t, func(c net.Conn) { io.Copy(io.Discard, c) })
}

// send sends n bytes to addr and waits until the other side has read
// them all (it closes then).
func send(t *testing.T, addr string, n int) time.Duration {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	if _, err := c.Write(make([]byte, n)); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	io.Copy(io.Discard, c)
	return time.Since(start)
}
