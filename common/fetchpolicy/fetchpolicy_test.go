package fetchpolicy

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// fakeDNS answers from a table; tests never ask a real resolver.
func fakeDNS(t *testing.T, table map[string]string) Resolver {
	return func(_ context.Context, host string) ([]netip.Addr, error) {
		a, ok := table[host]
		if !ok {
			t.Errorf("unexpected lookup of %q", host)
			return nil, errors.New("no such host")
		}
		return []netip.Addr{netip.MustParseAddr(a)}, nil
	}
}

func TestCheckURL(t *testing.T) {
	dns := fakeDNS(t, map[string]string{
		"github.com":                        "140.82.121.3",
		"objects.githubusercontent.com":     "185.199.108.133",
		"evil.githubusercontent.com":        "127.0.0.1",
		"metadata.githubusercontent.com":    "169.254.169.254",
		"git.corp.example":                  "10.1.2.3",
		"mirror.example.org":                "192.168.1.5",
		"v6.githubusercontent.com":          "fd00::1",
		"mapped.githubusercontent.com":      "::ffff:10.0.0.1",
		"public6.githubusercontent.com":     "2606:50c0:8000::154",
		"shared.githubusercontent.com":      "100.64.1.1",
		"unspecified.githubusercontent.com": "0.0.0.0",
	})
	p, err := Parse(append(append([]string(nil), Default...), "127.0.0.1:8080, git.corp.example", "10.9.0.0/16", "*.example.org"), dns)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		url  string
		want string // "" allowed, else a substring of the refusal
	}{
		{"https://github.com/mongoose-os-libs/sensors", ""},
		{"https://GitHub.com/o/r.git", ""},
		{"git@github.com:o/r.git", ""},
		{"github.com:o/r", ""},
		{"ssh://git@github.com/o/r", ""},
		{"git://github.com/o/r", ""},
		{"https://objects.githubusercontent.com/x", ""},
		{"https://public6.githubusercontent.com/x", ""},
		{"https://gitlab.com/g/r/-/tree/master/sub", ""},
		{"http://127.0.0.1:8080/r.git", ""},
		{"https://git.corp.example/r", ""}, // listed by name: its private address is fine
		{"https://10.9.3.4/r", ""},
		{"file:///srv/r", ""},
		{"/srv/r", ""},

		{"http://127.0.0.1:8081/r.git", "host 127.0.0.1:8081: not allowed by --fetch-allow"},
		{"http://127.0.0.1/r.git", "host 127.0.0.1:80: not allowed"},
		{"http://localhost:8080/r.git", "host localhost:8080: not allowed"},
		{"http://[::1]:8080/r.git", "host [::1]:8080: not allowed"},
		{"https://github.com:8443/o/r", "host github.com:8443: not allowed"},
		{"https://github.com.evil.example/o/r", "not allowed"},
		{"https://githubusercontent.com/x", "host githubusercontent.com:443: not allowed"},
		{"http://169.254.169.254/latest/meta-data", "host 169.254.169.254:80: not allowed"},
		{"https://10.8.0.1/r", "not allowed"},
		{"https://evil.githubusercontent.com/x", "resolves to 127.0.0.1, an internal address"},
		{"https://metadata.githubusercontent.com/x", "resolves to 169.254.169.254"},
		{"https://v6.githubusercontent.com/x", "resolves to fd00::1"},
		{"https://mapped.githubusercontent.com/x", "resolves to 10.0.0.1"},
		{"https://shared.githubusercontent.com/x", "resolves to 100.64.1.1"},
		{"https://unspecified.githubusercontent.com/x", "resolves to 0.0.0.0"},
		{"https://mirror.example.org/r", "resolves to 192.168.1.5"},
		{"ext::sh -c touch% /tmp/x", `scheme "ext"`},
		{"ftp://github.com/x", `scheme "ftp"`},
		{"https://user:hunter2@evil.example/r", "https://user:xxxxx@evil.example/r: host evil.example:443"},
	}
	for _, c := range cases {
		err := p.CheckURL(context.Background(), c.url)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v, want allowed", c.url, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, ErrNotAllowed)):
			t.Errorf("%s: %v, want a refusal with %q", c.url, err, c.want)
		case err != nil && strings.Contains(err.Error(), "hunter2"):
			t.Errorf("%s: the password is in the message: %v", c.url, err)
		}
	}
}

func TestNilAndEmpty(t *testing.T) {
	var none *Policy
	if err := none.CheckURL(context.Background(), "http://127.0.0.1:1/x"); err != nil {
		t.Errorf("nil policy: %v", err)
	}
	empty, err := Parse([]string{""}, fakeDNS(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	err = empty.CheckURL(context.Background(), "https://github.com/o/r")
	if err == nil || !strings.Contains(err.Error(), "(allowed: nothing)") {
		t.Errorf("empty list: %v", err)
	}
	if err := empty.CheckURL(context.Background(), "file:///srv/r"); err != nil {
		t.Errorf("empty list, file URL: %v", err)
	}
}

func TestParse(t *testing.T) {
	p, err := Parse([]string{"github.com,*.githubusercontent.com", " 127.0.0.1:9000 ", "[::1]:22", "10.0.0.0/8"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.String(), "github.com,*.githubusercontent.com,127.0.0.1:9000,[::1]:22,10.0.0.0/8"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	for _, bad := range []string{"http://github.com", "github.com:0", "github.com:http", "a b", "*.", "-x.com", "github.com/path"} {
		if _, err := Parse([]string{bad}, nil); err == nil || !strings.Contains(err.Error(), "--fetch-allow entry ") {
			t.Errorf("%q: %v, want an error naming the entry", bad, err)
		}
	}
}
