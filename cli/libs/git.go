package libs

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"os/exec"
	"strconv"
	"strings"

	"github.com/mongoose-os/mos/common/protocol"
)

// GitError is a failed git command; its message carries git's own.
type GitError struct {
	Args   []string // git's arguments, subcommand first
	Err    error    // usually an *exec.ExitError
	Stderr string   // what git said, trimmed
}

func (e *GitError) Error() string {
	sub := "git"
	if len(e.Args) > 0 {
		sub = "git " + e.Args[0]
	}
	if errors.Is(e.Err, exec.ErrNotFound) {
		return fmt.Sprintf("%s: %v (fetching libs needs git on PATH)", sub, e.Err)
	}
	if e.Stderr == "" {
		return fmt.Sprintf("%s: %v", sub, e.Err)
	}
	return fmt.Sprintf("%s: %v: %s", sub, e.Err, e.Stderr)
}

func (e *GitError) Unwrap() error { return e.Err }

// gitRunner runs the git command line with a fixed environment.
type gitRunner struct {
	bin string // "" means "git" from PATH
	env []string
}

// run runs git args in dir and returns its stdout without trailing newlines.
func (g gitRunner) run(ctx context.Context, dir string, args ...string) (string, error) {
	bin := g.bin
	if bin == "" {
		bin = "git"
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = g.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = fmt.Errorf("%w (%v)", ctxErr, err)
		}
		return "", &GitError{Args: args, Err: err, Stderr: oneLine(stderr.String())}
	}
	return strings.TrimRight(stdout.String(), "\r\n"), nil
}

// exitCode is the exit status of a failed git run, or -1.
func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// oneLine joins git's stderr lines (git wraps sentences), dropping blank
// ones and hints.
func oneLine(s string) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "hint:") {
			continue
		}
		lines = append(lines, l)
	}
	return strings.Join(lines, " ")
}

// withGitConfig returns env with config entries added through
// GIT_CONFIG_COUNT / GIT_CONFIG_KEY_n / GIT_CONFIG_VALUE_n (git >= 2.31),
// after any entries env already passes that way.
func withGitConfig(env []string, kv ...[2]string) []string {
	if len(kv) == 0 {
		return env
	}
	n := 0
	out := make([]string, 0, len(env)+2*len(kv)+1)
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "GIT_CONFIG_COUNT="); ok {
			if c, err := strconv.Atoi(v); err == nil && c > 0 {
				n = c
			}
			continue
		}
		out = append(out, e)
	}
	for i, p := range kv {
		out = append(out,
			fmt.Sprintf("GIT_CONFIG_KEY_%d=%s", n+i, p[0]),
			fmt.Sprintf("GIT_CONFIG_VALUE_%d=%s", n+i, p[1]))
	}
	return append(out, fmt.Sprintf("GIT_CONFIG_COUNT=%d", n+len(kv)))
}

// credentialsConfig is the git config that makes git send creds to the
// host of repoURL: an http.<scheme>://<host>/.extraHeader with a basic
// Authorization header. It goes through the environment, so the secret is
// never on a command line (visible to every user in ps), needs no helper
// program, and git sends it only to URLs under that scheme and host. SSH
// and other non-HTTP URLs get nothing: they authenticate with keys.
func credentialsConfig(repoURL string, c *protocol.Credentials) [][2]string {
	if c == nil {
		return nil
	}
	u, err := url.Parse(repoURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil
	}
	user := c.User
	if user == "" {
		user = "mos"
	}
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + c.Pass))
	return [][2]string{{
		"http." + u.Scheme + "://" + u.Host + "/.extraHeader",
		"Authorization: Basic " + auth,
	}}
}

// credentialsFor picks the creds for host: an exact entry, else the
// host-less one, else none.
func credentialsFor(creds map[string]protocol.Credentials, host string) *protocol.Credentials {
	if c, ok := creds[host]; ok {
		return &c
	}
	if c, ok := creds[""]; ok {
		return &c
	}
	return nil
}
