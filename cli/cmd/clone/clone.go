// Package clone implements `mos clone`: an app or lib repo cloned into a
// dir, at the mos release's version where the repo has it, with the
// --credentials for its host, as stock mos does.
package clone

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mongoose-os/mos/cli/buildflags"
	"github.com/mongoose-os/mos/cli/cmdutil"
	"github.com/mongoose-os/mos/common/protocol"
	ver "github.com/mongoose-os/mos/common/version"
)

// CloneOptions are the inputs of `mos clone`.
type CloneOptions struct {
	IO      *cmdutil.IOStreams
	Environ func() []string // git's environment
	Git     string          // git binary; "" is git on PATH

	Location    string // URL, OWNER/REPO or an app name
	Dir         string // target dir; "" is the repo's name in WorkDir
	WorkDir     string
	Version     string // checked out when the repo has it as a tag or branch
	Credentials string // --credentials
	GHToken     string // --gh-token
}

// NewCmdClone returns the clone command; runF replaces the run in tests.
func NewCmdClone(f *cmdutil.Factory, runF func(context.Context, *CloneOptions) error) *cobra.Command {
	opts := &CloneOptions{IO: f.IO, Environ: os.Environ, Version: ver.Presented()}
	cmd := &cobra.Command{
		Use:   "clone LOCATION [DIR]",
		Short: "Clone an app or lib repo",
		Long: `Clone a git repo into DIR (default: the repo's name in the current dir).
LOCATION is a git URL, OWNER/REPO on GitHub, or the name of an app in
github.com/mongoose-os-apps, as in stock mos. The clone is checked out at
this mos's version (` + ver.Presented() + `) when the repo has it as a tag or
branch, else it stays on the default branch. --credentials authenticate the
repo's host.`,
		Example: `  mos clone demo-c
  mos clone mongoose-os-libs/sensors libs/sensors
  mos clone https://git.example.com/team/app.git --credentials git.example.com:TOKEN`,
		Args: func(cmd *cobra.Command, args []string) error {
			switch len(args) {
			case 0:
				return cmdutil.FlagErrorf("source location is required")
			case 1, 2:
				return nil
			}
			return cmdutil.FlagErrorf("extra arguments: %q", args[2:])
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Location = args[0]
			if len(args) == 2 {
				opts.Dir = args[1]
			}
			wd, err := f.WorkDir()
			if err != nil {
				return err
			}
			opts.WorkDir = wd
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return cloneRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Credentials, "credentials", "", "credentials for the repo's host: TOKEN, HOST:TOKEN or HOST:USER:PASS, comma-separated, or @FILE")
	fl.StringVar(&opts.GHToken, "gh-token", "", "deprecated, use --credentials github.com:TOKEN")
	_ = fl.MarkHidden("gh-token")
	return cmd
}

// RepoURL turns a LOCATION into a git URL as stock does: a URL (or
// scp-like host:path) as is, OWNER/REPO on GitHub, a bare name in
// mongoose-os-apps.
func RepoURL(loc string) (string, error) {
	loc = strings.TrimSpace(loc)
	switch {
	case loc == "":
		return "", errors.New("empty location")
	case strings.Contains(loc, "://"):
		return loc, nil
	case strings.Contains(loc, "@") && strings.Contains(loc, ":"):
		return loc, nil // git@host:owner/repo
	case strings.Contains(loc, "/"):
		return "https://github.com/" + strings.Trim(loc, "/"), nil
	}
	return "https://github.com/mongoose-os-apps/" + loc, nil
}

// repoName is the last path element of a repo URL without ".git".
func repoName(repoURL string) string {
	p := repoURL
	if u, err := url.Parse(repoURL); err == nil && u.Path != "" {
		p = u.Path
	} else if i := strings.LastIndex(repoURL, ":"); i >= 0 {
		p = repoURL[i+1:]
	}
	return strings.TrimSuffix(path.Base(strings.TrimRight(p, "/")), ".git")
}

func cloneRun(ctx context.Context, opts *CloneOptions) error {
	repoURL, err := RepoURL(opts.Location)
	if err != nil {
		return cmdutil.FlagErrorf("clone: %w", err)
	}
	creds, err := buildflags.ParseCredentials(opts.Credentials, opts.GHToken)
	if err != nil {
		return fmt.Errorf("invalid --credentials: %w", err)
	}
	dir := opts.Dir
	if dir == "" {
		dir = repoName(repoURL)
		if dir == "" || dir == "." || dir == "/" {
			return fmt.Errorf("clone %s: cannot tell a dir name from it; give DIR", repoURL)
		}
	}
	dir = buildflags.AbsFrom(opts.WorkDir, dir)
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("clone %s: %s exists and is not empty", repoURL, dir)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("clone %s: %w", repoURL, err)
	}
	env := withCredentials(opts.Environ(), repoURL, creds)
	fmt.Fprintf(opts.IO.ErrOut, "Cloning %s into %s...\n", repoURL, dir)
	if err := runGit(ctx, opts, env, opts.WorkDir, "clone", "--", repoURL, dir); err != nil {
		return fmt.Errorf("clone %s: %w", repoURL, err)
	}
	if opts.Version == "" || opts.Version == ver.Latest {
		return nil
	}
	// A tag, or a branch of origin, named as the version.
	for _, ref := range []string{"refs/tags/" + opts.Version, "refs/remotes/origin/" + opts.Version} {
		if quietGit(ctx, opts, env, dir, "rev-parse", "--verify", "--quiet", ref+"^{commit}") != nil {
			continue
		}
		args := []string{"checkout", "-q", opts.Version}
		if strings.HasPrefix(ref, "refs/tags/") {
			args = []string{"-c", "advice.detachedHead=false", "checkout", "-q", "tags/" + opts.Version}
		}
		if err := runGit(ctx, opts, env, dir, args...); err != nil {
			return fmt.Errorf("clone %s: checking out %s: %w", repoURL, opts.Version, err)
		}
		fmt.Fprintf(opts.IO.ErrOut, "Checked out %s\n", opts.Version)
		return nil
	}
	fmt.Fprintf(opts.IO.ErrOut, "%s has no tag or branch %s; staying on its default branch\n", repoURL, opts.Version)
	return nil
}

func runGit(ctx context.Context, opts *CloneOptions, env []string, dir string, args ...string) error {
	cmd := gitCmd(ctx, opts, env, dir, args...)
	cmd.Stdout, cmd.Stderr = opts.IO.ErrOut, opts.IO.ErrOut
	if err := cmd.Run(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return fmt.Errorf("git %s: %w (mos clone needs git on PATH)", args[0], err)
		}
		return fmt.Errorf("git %s: %w", args[0], err)
	}
	return nil
}

func quietGit(ctx context.Context, opts *CloneOptions, env []string, dir string, args ...string) error {
	return gitCmd(ctx, opts, env, dir, args...).Run()
}

func gitCmd(ctx context.Context, opts *CloneOptions, env []string, dir string, args ...string) *exec.Cmd {
	bin := opts.Git
	if bin == "" {
		bin = "git"
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir, cmd.Env = dir, env
	return cmd
}

// withCredentials adds to env the git config that sends the credentials
// for repoURL's host as a basic Authorization header to URLs of that scheme
// and host only; through the environment, so the secret is on no command
// line. Non-HTTP URLs get nothing (they use keys).
func withCredentials(env []string, repoURL string, creds map[string]protocol.Credentials) []string {
	u, err := url.Parse(repoURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return env
	}
	c, ok := creds[u.Host]
	if !ok {
		c, ok = creds[u.Hostname()]
	}
	if !ok {
		c, ok = creds[""]
	}
	if !ok {
		return env
	}
	n := 0
	out := make([]string, 0, len(env)+3)
	for _, e := range env {
		if v, found := strings.CutPrefix(e, "GIT_CONFIG_COUNT="); found {
			n, _ = strconv.Atoi(v)
			continue
		}
		out = append(out, e)
	}
	auth := base64.StdEncoding.EncodeToString([]byte(c.User + ":" + c.Pass))
	return append(out,
		fmt.Sprintf("GIT_CONFIG_KEY_%d=http.%s://%s/.extraHeader", n, u.Scheme, u.Host),
		fmt.Sprintf("GIT_CONFIG_VALUE_%d=Authorization: Basic %s", n, auth),
		fmt.Sprintf("GIT_CONFIG_COUNT=%d", n+1))
}
