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
	// defaultUser: the URL had no user; stock's test:test is sent.
	defaultUser bool
}

// AuthError is the server refusing the credentials sent (401, or 403 to
// the upload plan, which names no context): nothing was uploaded.
type AuthError struct {
	Server      string // base URL
	User        string // the user sent
	DefaultUser bool   // no user was given: stock's default account was tried
	Status      int
	Body        string // the answer's text, trimmed
}

func (e *AuthError) Error() string {
	who := fmt.Sprintf("user %q", e.User)
	hint := "check the user and password given in --server http://USER:PASSWORD@HOST:PORT"
	if e.DefaultUser {
		who = fmt.Sprintf("stock's default account %q (no user was given)", e.User)
		hint = "give yours in the server URL: --server http://USER:PASSWORD@HOST:PORT"
	}
	return fmt.Sprintf("build server %s refused %s: %d: %s; %s", e.Server, who, e.Status, e.Body, hint)
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
	su := serverURL{user: defaultUser, pass: defaultPass, defaultUser: true}
	if u.User != nil {
		su.user = u.User.Username()
		su.pass, _ = u.User.Password()
		su.defaultUser = false
	}
	u.User = nil
	u.RawQuery, u.Fragment, u.RawFragment = "", "", ""
	su.base = strings.TrimRight(u.String(), "/")
	return su, nil
}

// authError is the AuthError of an answer with status to srv's
// credentials.
func (srv serverURL) authError(status int, body string) *AuthError {
	return &AuthError{Server: srv.base, User: srv.user, DefaultUser: srv.defaultUser, Status: status, Body: body}
}

func redact(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}
