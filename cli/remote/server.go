package remote

import (
	"fmt"
	"net/url"
	"strings"
)

// Stock's hard-coded build server credentials, used when the server URL
// has none.
const (
	defaultUser = "test"
	defaultPass = "test"
)

// serverURL is a parsed --server value.
type serverURL struct {
	base       string // scheme://host[:port][/path], no user info, no trailing "/"
	user, pass string
}

// parseServer reads --server: a value without "://" gets "http://" (so
// "buildsrv:8000" works), user info sets basic auth and is removed, a
// trailing "/" is dropped.
func parseServer(s string) (serverURL, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return serverURL{}, fmt.Errorf("no build server given (--server)")
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return serverURL{}, fmt.Errorf("build server URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return serverURL{}, fmt.Errorf("build server URL %q: scheme %q is not http or https", redact(u), u.Scheme)
	}
	if u.Host == "" {
		return serverURL{}, fmt.Errorf("build server URL %q has no host", redact(u))
	}
	su := serverURL{user: defaultUser, pass: defaultPass}
	if u.User != nil {
		su.user = u.User.Username()
		su.pass, _ = u.User.Password()
	}
	u.User = nil
	u.RawQuery, u.Fragment, u.RawFragment = "", "", ""
	su.base = strings.TrimRight(u.String(), "/")
	return su, nil
}

func redact(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}
