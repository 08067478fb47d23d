package runner

import (
	"bufio"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

// redisDo sends one command on c and returns the reply as sent.
func redisDo(t *testing.T, c net.Conn, r *bufio.Reader, args ...string) string {
	t.Helper()
	b := make([][]byte, len(args))
	for i, a := range args {
		b[i] = []byte(a)
	}
	if err := writeCommand(c, b...); err != nil {
		t.Fatal(err)
	}
	reply, err := readReply(r)
	if err != nil {
		t.Fatalf("%s: %v", strings.Join(args, " "), err)
	}
	return string(reply)
}

func proxyConn(t *testing.T, addr string, keys keyPrefixes) (net.Conn, *bufio.Reader) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "redis.sock")
	p, err := proxyRedis(sock, addr, &url.URL{Scheme: "redis", Host: addr}, keys)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, bufio.NewReader(c)
}

// TestRedisProxyNamespaces: through the socket a build is given, its keys
// are its namespace's, it reads the base but writes it only when trusted,
// and no command but GET, SET and PING reaches Redis (issue 20, rows 1,
// 2 and 4 on a redis remote).
func TestRedisProxyNamespaces(t *testing.T) {
	addr := startRedis(t)
	direct, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	dr := bufio.NewReader(direct)

	ci, cir := proxyConn(t, addr, (&Ccache{BaseWrite: true, Namespace: "ci"}).keyPrefixes())
	alice, ar := proxyConn(t, addr, (&Ccache{Namespace: "alice"}).keyPrefixes())
	mallory, mr := proxyConn(t, addr, (&Ccache{Namespace: "mallory"}).keyPrefixes())

	if got := redisDo(t, ci, cir, "SET", "ccache:k1", "from-ci"); got != "+OK\r\n" {
		t.Fatalf("trusted SET: %q", got)
	}
	if got := redisDo(t, direct, dr, "GET", "mos:base:ccache:k1"); got != "$7\r\nfrom-ci\r\n" {
		t.Errorf("trusted build's key in the base: %q", got)
	}
	if got := redisDo(t, alice, ar, "GET", "ccache:k1"); got != "$7\r\nfrom-ci\r\n" {
		t.Errorf("alice reads the base: %q", got)
	}
	redisDo(t, alice, ar, "SET", "ccache:k2", "alice-private")
	if got := redisDo(t, mallory, mr, "GET", "ccache:k2"); got != "$-1\r\n" {
		t.Errorf("mallory reads alice's key: %q", got)
	}
	// mallory's SET of the base's key goes to her namespace: alice and ci
	// still get ci's object.
	redisDo(t, mallory, mr, "SET", "ccache:k1", "poison")
	if got := redisDo(t, mallory, mr, "GET", "ccache:k1"); got != "$6\r\npoison\r\n" {
		t.Errorf("mallory's own key: %q", got)
	}
	for _, c := range []struct {
		conn net.Conn
		r    *bufio.Reader
	}{{alice, ar}, {ci, cir}} {
		if got := redisDo(t, c.conn, c.r, "GET", "ccache:k1"); got != "$7\r\nfrom-ci\r\n" {
			t.Errorf("after mallory's SET: %q", got)
		}
	}
	// mallory names the raw key: still under her prefix.
	if got := redisDo(t, mallory, mr, "GET", "mos:ns:alice:ccache:k2"); got != "$-1\r\n" {
		t.Errorf("mallory GETs alice's raw key: %q", got)
	}
	for _, cmd := range [][]string{{"FLUSHALL"}, {"CONFIG", "SET", "maxmemory", "1234567"}, {"KEYS", "*"}, {"SCAN", "0"}, {"DEL", "ccache:k1"}, {"SET", "ccache:k3", "v", "EX", "1"}, {"AUTH", "x"}, {"SELECT", "1"}, {"EVAL", "return 1", "0"}} {
		if got := redisDo(t, mallory, mr, cmd...); !strings.HasPrefix(got, "-ERR ") {
			t.Errorf("%s through the socket: %q, want an error", strings.Join(cmd, " "), got)
		}
	}
	if got := redisDo(t, direct, dr, "DBSIZE"); got != ":3\r\n" {
		t.Errorf("after the refused commands, %q keys, want 3", got)
	}
	if got := redisDo(t, direct, dr, "CONFIG", "GET", "maxmemory"); strings.Contains(got, "1234567") {
		t.Errorf("CONFIG SET went through: %q", got)
	}
	if got := redisDo(t, mallory, mr, "PING"); got != "+PONG\r\n" {
		t.Errorf("PING: %q", got)
	}
}

// TestRedisProxyLogsIn: the proxy logs in and selects the database of the
// remote's URL itself, before the build's first command; the build never
// sends them (nor could: AUTH and SELECT are refused).
func TestRedisProxyLogsIn(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		var seen []string
		for i := 0; i < 3; i++ {
			cmd, err := readCommand(r)
			if err != nil {
				break
			}
			var parts []string
			for _, a := range cmd {
				parts = append(parts, string(a))
			}
			seen = append(seen, strings.Join(parts, " "))
			if i < 2 {
				c.Write([]byte("+OK\r\n"))
			} else {
				c.Write([]byte("$-1\r\n"))
			}
		}
		got <- seen
	}()
	addr := ln.Addr().String()
	u, _ := url.Parse("redis://cacheuser:s3cret@" + addr + "/2")
	sock := filepath.Join(t.TempDir(), "redis.sock")
	p, err := proxyRedis(sock, addr, u, (&Ccache{Namespace: "n1"}).keyPrefixes())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// One prefix answers nil, the proxy tries the base next: only the
	// first GET is looked at here.
	writeCommand(c, []byte("GET"), []byte("ccache:k"))
	seen := <-got
	want := []string{"AUTH cacheuser s3cret", "SELECT 2", "GET mos:ns:n1:ccache:k"}
	if strings.Join(seen, "|") != strings.Join(want, "|") {
		t.Errorf("upstream saw %q, want %q", seen, want)
	}
}
