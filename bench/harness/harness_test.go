package harness

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestProxyCounts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 5)
		io.ReadFull(c, buf)
		c.Write([]byte("a reply of 17 by"))
		c.Write([]byte("t"))
	}()
	p, err := NewProxy(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("hello"))
	got, _ := io.ReadAll(c)
	c.Close()
	p.Close()
	up, down := p.Counts()
	if string(got) != "a reply of 17 byt" || up != 5 || down != 17 {
		t.Errorf("got %q, counted up %d down %d", got, up, down)
	}
}

func TestCountCompiled(t *testing.T) {
	p := filepath.Join(t.TempDir(), "build.log")
	// The host SDK's lines, then the real core's (indented, CXX for C++),
	// then a line that only mentions CC.
	os.WriteFile(p, []byte("make: Entering\nCC /a.c\nLD x.elf\nCC /b.c\n  CC    /c.c\n  CXX   /d.cpp\nsaid CC here\n"), 0o644)
	if n, err := CountCompiled(p); err != nil || n != 4 {
		t.Errorf("CountCompiled = %d, %v", n, err)
	}
	if _, err := CountCompiled(filepath.Join(t.TempDir(), "none")); err == nil || !strings.Contains(err.Error(), "none") {
		t.Errorf("a missing log: %v", err)
	}
}
