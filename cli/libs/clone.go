package libs

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/mongoose-os/mos/cli/location"
	"github.com/mongoose-os/mos/cli/manifest"
)

// ErrFetchNotAllowed is matched (errors.Is) by the error for a clone that
// does not exist while the update interval is 0.
var ErrFetchNotAllowed = errors.New("fetching is not allowed")

type fetchNotAllowedError struct{ name, dir string }

func (e *fetchNotAllowedError) Error() string {
	return fmt.Sprintf("%s: Local copy in %q does not exist and fetching is not allowed", e.name, e.dir)
}

func (e *fetchNotAllowedError) Is(target error) bool { return target == ErrFetchNotAllowed }

// minHashLen is the shortest prefix by which HEAD may match a wanted hash.
const minHashLen = 6

// binaryLibGlob names fetched binaries kept inside lib repos; they do not
// make a checkout dirty.
const binaryLibGlob = "lib/*/*.a"

// repoSync brings one clone dir to one ref. Its methods run with the dir's
// lock held.
type repoSync struct {
	p      *Provider
	git    gitRunner
	name   string
	url    string
	dir    string
	ref    string
	mirror *mirror // nil without a cache dir
}

// syncRepo locks dir and brings the clone of l in it to ref (local-build.md
// §7.3).
func (p *Provider) syncRepo(ctx context.Context, name string, l *location.Location, dir, ref string) (obtained, error) {
	unlock, err := lockDir(ctx, dir, func() { p.logf("%s: waiting for another build using %s...", name, dir) })
	if err != nil {
		return obtained{}, err
	}
	defer unlock()

	s := &repoSync{p: p, name: name, url: l.RepoURL, dir: dir, ref: ref}
	creds := credentialsConfig(l.RepoURL, credentialsFor(p.opts.Credentials, l.Host))
	if p.opts.CacheDir != "" {
		s.mirror = p.mirrorFor(l.RepoURL, creds)
		// The clone keeps the real URL as origin; git reaches it through
		// the mirror.
		s.git = gitRunner{bin: p.opts.Git, env: withGitConfig(p.gitEnv, [2]string{"url." + s.mirror.dir + ".insteadOf", l.RepoURL})}
	} else {
		s.git = gitRunner{bin: p.opts.Git, env: withGitConfig(p.gitEnv, creds...)}
	}
	return s.sync(ctx)
}

func (s *repoSync) logf(format string, args ...any) {
	s.p.logf(s.name+": "+format, args...)
}

// remote is called before each git command that contacts origin: it
// checks the fetch policy (before any connection, so that a refusal says
// the same for every port and address; a clone already there is used
// without one), and with a cache brings the mirror up to date for ref.
func (s *repoSync) remote(ctx context.Context) error {
	if err := s.p.opts.FetchPolicy.CheckURL(ctx, s.url); err != nil {
		return fmt.Errorf("location %w", err)
	}
	if s.mirror == nil {
		return nil
	}
	return s.mirror.ensure(ctx, s.ref)
}

func (s *repoSync) sync(ctx context.Context) (obtained, error) {
	interval := s.p.opts.UpdateInterval
	isRepo := false
	fi, err := os.Stat(s.dir)
	switch {
	case err == nil && !fi.IsDir():
		return obtained{}, fmt.Errorf("%s is not a directory", s.dir)
	case err == nil:
		if _, err := os.Stat(filepath.Join(s.dir, ".git")); err == nil {
			isRepo = true
		} else {
			ents, err := os.ReadDir(s.dir)
			if err != nil {
				return obtained{}, err
			}
			if len(ents) > 0 {
				s.logf("%s is not empty and not a git repository, using it as it is", s.dir)
				return obtained{Fetched: manifest.Fetched{Dir: s.dir}}, nil
			}
		}
	case errors.Is(err, fs.ErrNotExist):
		if interval == 0 {
			return obtained{}, &fetchNotAllowedError{name: s.name, dir: s.dir}
		}
	default:
		return obtained{}, err
	}

	prev := ""
	if !isRepo {
		s.logf("cloning %s into %s", s.url, s.dir)
		if err := s.clone(ctx); err != nil {
			return obtained{}, err
		}
	} else {
		clean, err := s.isClean(ctx)
		if err != nil {
			return obtained{}, err
		}
		head, _ := s.head(ctx)
		if !clean {
			s.logf("%s has local changes, leaving it as it is", s.dir)
			return obtained{Fetched: manifest.Fetched{Dir: s.dir, RepoVersion: head, RepoDirty: true}, prevHash: head}, nil
		}
		prev = head
		origin, err := s.git.run(ctx, s.dir, "config", "--get", "remote.origin.url")
		if err != nil {
			return obtained{}, fmt.Errorf("reading the origin of %s: %w", s.dir, err)
		}
		if origin != s.url {
			s.logf("origin changed from %s to %s, cloning again", origin, s.url)
			if err := os.RemoveAll(s.dir); err != nil {
				return obtained{}, fmt.Errorf("deleting the old clone: %w", err)
			}
			if err := s.clone(ctx); err != nil {
				return obtained{}, err
			}
		}
	}

	cur, err := s.head(ctx)
	if err != nil {
		return obtained{}, err
	}
	if hashesEqual(cur, s.ref) {
		return obtained{Fetched: manifest.Fetched{Dir: s.dir, RepoVersion: cur}, prevHash: prev}, nil
	}

	isSHA := len(s.ref) == 40 && isHex(s.ref)
	isBranch, isTag, err := s.classify(ctx)
	if err != nil {
		return obtained{}, err
	}
	isAbbrev := false
	if !isSHA && !isBranch && !isTag {
		if err := s.remote(ctx); err != nil {
			return obtained{}, err
		}
		_, fetchErr := s.git.run(ctx, s.dir, "fetch", "-q", "--tags", "--depth", "1", "origin", s.ref+":"+s.ref)
		if isBranch, isTag, err = s.classify(ctx); err != nil {
			return obtained{}, err
		}
		if !isBranch && !isTag {
			// Remotes cannot fetch by abbreviated hash; one the clone
			// already has is fine.
			isAbbrev = len(s.ref) >= minHashLen && isHex(s.ref) && s.hasCommit(ctx, s.ref)
			switch {
			case isAbbrev:
			case fetchErr != nil:
				return obtained{}, fetchErr
			default:
				return obtained{}, fmt.Errorf("%q doesn't look like a valid ref", s.ref)
			}
		}
	}

	s.logf("checking out %s", s.ref)
	if _, err := s.git.run(ctx, s.dir, "checkout", "-q", s.ref, "--"); err != nil {
		if !isSHA || isBranch || isTag {
			return obtained{}, err
		}
		// A commit no branch or tag of the clone reaches: fetch it alone.
		if rerr := s.remote(ctx); rerr != nil {
			return obtained{}, rerr
		}
		_, _ = s.git.run(ctx, s.dir, "fetch", "-q", "--tags", "--depth", "1", "origin", s.ref+":mos_"+s.ref)
		if _, err := s.git.run(ctx, s.dir, "checkout", "-q", s.ref, "--"); err != nil {
			return obtained{}, err
		}
	}
	moved, err := s.head(ctx)
	if err != nil {
		return obtained{}, err
	}

	if isBranch {
		pull := moved != cur
		if !pull && s.p.opts.UpdateInterval != 0 {
			fi, err := os.Stat(s.dir)
			if err != nil {
				return obtained{}, err
			}
			pull = fi.ModTime().Add(s.p.opts.UpdateInterval).Before(time.Now())
		}
		if pull {
			s.logf("pulling %s", s.ref)
			if err := s.remote(ctx); err != nil {
				return obtained{}, err
			}
			if _, err := s.git.run(ctx, s.dir, "pull", "-q", "origin", s.ref); err != nil {
				return obtained{}, err
			}
			now := time.Now()
			if err := os.Chtimes(s.dir, now, now); err != nil {
				return obtained{}, err
			}
		}
	}

	// Undo any damage to tracked files.
	if _, err := s.git.run(ctx, s.dir, "checkout", "-q", "."); err != nil {
		return obtained{}, err
	}
	final, err := s.head(ctx)
	if err != nil {
		return obtained{}, err
	}
	if final != prev {
		s.logf("at %s", final)
	}
	return obtained{Fetched: manifest.Fetched{Dir: s.dir, RepoVersion: final}, prevHash: prev}, nil
}

// clone clones origin into the (missing or empty) dir.
func (s *repoSync) clone(ctx context.Context) error {
	if err := s.remote(ctx); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.dir), 0o755); err != nil {
		return err
	}
	_, err := s.git.run(ctx, "", "clone", "-q", s.url, s.dir)
	if err == nil {
		// A fresh clone counts as just pulled.
		now := time.Now()
		err = os.Chtimes(s.dir, now, now)
	}
	return err
}

func (s *repoSync) head(ctx context.Context) (string, error) {
	h, err := s.git.run(ctx, s.dir, "rev-parse", "HEAD")
	if err != nil {
		return "", fmt.Errorf("reading HEAD of %s: %w", s.dir, err)
	}
	return h, nil
}

// classify says whether ref is a local branch and whether it is a tag.
func (s *repoSync) classify(ctx context.Context) (branch, tag bool, err error) {
	if branch, err = s.hasRef(ctx, "refs/heads/"+s.ref); err != nil {
		return false, false, err
	}
	if tag, err = s.hasRef(ctx, "refs/tags/"+s.ref); err != nil {
		return false, false, err
	}
	return branch, tag, nil
}

func (s *repoSync) hasRef(ctx context.Context, full string) (bool, error) {
	_, err := s.git.run(ctx, s.dir, "show-ref", "--verify", "--quiet", full)
	if err == nil {
		return true, nil
	}
	if exitCode(err) == 1 {
		return false, nil
	}
	return false, err
}

func (s *repoSync) hasCommit(ctx context.Context, rev string) bool {
	_, err := s.git.run(ctx, s.dir, "rev-parse", "--verify", "--quiet", rev+"^{commit}")
	return err == nil
}

// isClean reports whether the clone has no changes of its own: no
// modified, deleted or untracked files (fetched binary libs aside), nothing
// staged, and no commits its upstream (or the wanted ref) lacks.
func (s *repoSync) isClean(ctx context.Context) (bool, error) {
	out, err := s.git.run(ctx, s.dir, "ls-files", "--exclude-standard", "--modified", "--others", "--deleted",
		"--exclude="+binaryLibGlob)
	if err != nil {
		return false, fmt.Errorf("checking %s for changes: %w", s.dir, err)
	}
	if out != "" {
		return false, nil
	}
	out, err = s.git.run(ctx, s.dir, "diff", "--cached", "--name-only")
	if err != nil {
		return false, fmt.Errorf("checking %s for changes: %w", s.dir, err)
	}
	for _, f := range strings.Split(out, "\n") {
		if f == "" {
			continue
		}
		if ok, _ := path.Match(binaryLibGlob, f); !ok {
			return false, nil
		}
	}
	// At a tag: nothing of ours.
	if _, err := s.git.run(ctx, s.dir, "describe", "--tags", "--exact-match", "HEAD"); err == nil {
		return true, nil
	}
	// Commits not upstream: against the branch's upstream, else against the
	// wanted ref; if neither can be compared, assume none.
	out, err = s.git.run(ctx, s.dir, "cherry")
	if err != nil {
		if out, err = s.git.run(ctx, s.dir, "cherry", s.ref); err != nil {
			return true, nil
		}
	}
	if out == "" {
		return true, nil
	}
	// Compared with the wanted ref, commits of another fetched branch (the
	// clone was at "dev", "1.0" is wanted now) look unpushed; they are not
	// ours if a remote-tracking branch or a tag has them.
	out, err = s.git.run(ctx, s.dir, "rev-list", "-n", "1", "HEAD", "--not", "--remotes", "--tags")
	return err == nil && out == "", nil
}

// hashesEqual says whether a and b name the same commit as hashes: equal
// over the shorter one's length, at least minHashLen characters.
func hashesEqual(a, b string) bool {
	n := min(len(a), len(b))
	return n >= minHashLen && a[:n] == b[:n]
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	if len(s)%2 == 1 {
		_, err = hex.DecodeString(s + "0")
	}
	return err == nil && s != ""
}
