package execbits

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

// Source says which rule decided a mode.
type Source int

const (
	// Default: no rule applied, 0644.
	Default Source = iota
	// Index: the file's entry in its git work tree's index.
	Index
	// Disk: the file's mode on a disk that keeps modes.
	Disk
	// Shebang: the file starts with "#!".
	Shebang
	// Symlink: git tracks the path as a symbolic link (mode 120000); it is
	// not uploaded, whatever is on disk (a checkout without symlink support
	// holds a plain file with the link's target).
	Symlink
)

func (s Source) String() string {
	switch s {
	case Index:
		return "git index"
	case Disk:
		return "disk"
	case Shebang:
		return "#!"
	case Symlink:
		return "git symlink"
	}
	return "default"
}

// Mode is the decision for one file.
type Mode struct {
	Perm   fs.FileMode // 0755 or 0644 (0 for Symlink)
	Source Source
}

// Options configure a Resolver. The zero value looks git up on PATH and
// asks the file system whether it keeps modes.
type Options struct {
	// Git is the git binary; "" looks "git" up on PATH. When there is
	// none, indexes are not read.
	Git string
	// Log receives one line per problem that makes a rule unusable (git
	// missing, an index that cannot be read); nil drops them.
	Log func(string)
	// KeepsModes reports whether the file system holding dir keeps Unix
	// modes; nil asks the platform (see modes_*.go). Tests set it to
	// pretend a file system that makes modes up.
	KeepsModes func(dir string) bool
}

// Resolver decides modes, reading each work tree's index and each
// directory's file system once. It is safe for concurrent use.
type Resolver struct {
	opts Options
	git  string // "" when no git is usable

	mu      sync.Mutex
	gitOnce bool
	tops    map[string]string // dir -> work tree top ("" = none)
	repos   map[string]*repo  // top -> index
	fsModes map[string]bool   // dir -> keeps modes
}

// repo is what one work tree tells: its index and core.fileMode.
type repo struct {
	modes    map[string]fs.FileMode // slash path relative to top -> 0755, 0644, or fs.ModeSymlink
	fileMode bool                   // core.fileMode (true unless set false)
}

// New returns a Resolver.
func New(opts Options) *Resolver {
	return &Resolver{
		opts:    opts,
		tops:    map[string]string{},
		repos:   map[string]*repo{},
		fsModes: map[string]bool{},
	}
}

func (r *Resolver) logf(format string, args ...any) {
	if r.opts.Log != nil {
		r.opts.Log(fmt.Sprintf(format, args...))
	}
}

// Mode decides the upload mode of the regular file at path (absolute or
// relative to the working dir). An error means the file itself could not
// be examined; trouble with git only makes the index rule unusable.
func (r *Resolver) Mode(path string) (Mode, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return Mode{}, fmt.Errorf("deciding mode of %s: %w", path, err)
	}
	dir := filepath.Dir(abs)

	r.mu.Lock()
	rp, rel := r.repoFor(dir, abs)
	r.mu.Unlock()
	if rp != nil {
		if m, ok := rp.modes[rel]; ok {
			if m == fs.ModeSymlink {
				return Mode{Source: Symlink}, nil
			}
			return Mode{Perm: m, Source: Index}, nil
		}
	}

	fi, err := os.Lstat(abs)
	if err != nil {
		return Mode{}, fmt.Errorf("deciding mode: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return Mode{}, fmt.Errorf("deciding mode of %s: not a regular file (%v)", abs, fi.Mode().Type())
	}
	diskModes := (rp == nil || rp.fileMode) && r.keepsModes(dir)
	if diskModes && fi.Mode().Perm()&0o111 != 0 {
		return Mode{Perm: 0o755, Source: Disk}, nil
	}
	// A file without an exec bit on disk may still be a script that lost
	// it on the way (a copy through a Windows share, an archive without
	// modes): the #! decides, so the build can run it.
	shebang, err := startsWithShebang(abs)
	if err != nil {
		return Mode{}, fmt.Errorf("deciding mode: %w", err)
	}
	if shebang {
		return Mode{Perm: 0o755, Source: Shebang}, nil
	}
	if diskModes {
		return Mode{Perm: 0o644, Source: Disk}, nil
	}
	return Mode{Perm: 0o644, Source: Default}, nil
}

func startsWithShebang(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	head := make([]byte, 2)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("reading %s: %w", path, err)
	}
	return bytes.Equal(head[:n], []byte("#!")), nil
}

// keepsModes asks (once per dir) whether dir's file system keeps modes.
func (r *Resolver) keepsModes(dir string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if v, ok := r.fsModes[dir]; ok {
		return v
	}
	f := r.opts.KeepsModes
	if f == nil {
		f = fsKeepsModes
	}
	v := f(dir)
	r.fsModes[dir] = v
	return v
}

// repoFor returns the work tree holding dir (nil if none or unreadable) and
// the slash path of abs relative to its top. Called with r.mu held.
func (r *Resolver) repoFor(dir, abs string) (*repo, string) {
	top := r.topFor(dir)
	if top == "" {
		return nil, ""
	}
	rp, ok := r.repos[top]
	if !ok {
		rp = r.readRepo(top)
		r.repos[top] = rp
	}
	if rp == nil {
		return nil, ""
	}
	rel, err := filepath.Rel(top, abs)
	if err != nil {
		return nil, ""
	}
	return rp, filepath.ToSlash(rel)
}

// topFor finds the nearest dir at or above dir holding a .git (dir or
// file), caching every dir passed on the way.
func (r *Resolver) topFor(dir string) string {
	var visited []string
	top := ""
	for d := dir; ; {
		if t, ok := r.tops[d]; ok {
			top = t
			break
		}
		visited = append(visited, d)
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			top = d
			break
		}
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	for _, d := range visited {
		r.tops[d] = top
	}
	return top
}

// gitBinary returns the git to run, "" if none. Called with r.mu held.
func (r *Resolver) gitBinary() string {
	if !r.gitOnce {
		r.gitOnce = true
		r.git = r.opts.Git
		if r.git == "" {
			p, err := exec.LookPath("git")
			if err != nil {
				r.logf("git not found on PATH: file modes come from the disk or #! only")
			}
			r.git = p
		}
	}
	return r.git
}
