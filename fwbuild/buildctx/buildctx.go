package buildctx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mongoose-os/mos/common/archive"
	"github.com/mongoose-os/mos/common/faultpoint"
	"github.com/mongoose-os/mos/common/filetree"
	"github.com/mongoose-os/mos/common/protocol"
)

// Sentinels of this package; test with errors.Is.
var (
	// ErrBadName: a context name that is not letters, digits and _.
	ErrBadName = errors.New("invalid build context name")
	// ErrBadKey: a version, app name or platform that is not a plain,
	// allowed directory name.
	ErrBadKey = errors.New("invalid path component")
	// ErrDirty: an update failed after changing the context; it is marked
	// dirty and the next build starts it afresh.
	ErrDirty = errors.New("context marked dirty")
	// ErrNotOwner: the context belongs to another namespace.
	ErrNotOwner = errors.New("build context belongs to another account")
)

// MaxNameLength bounds a context name, and MaxComponentLength a version,
// app name or platform: far over what anyone uses (stock names contexts
// build_ctx_<10 digits>), well under a file name's 255 bytes with the
// suffixes of the metadata files.
const (
	MaxNameLength      = 128
	MaxComponentLength = 128
)

// Names the server keeps for itself directly under the volumes dir, which
// a version segment therefore cannot take.
const (
	LibCacheDirName = "libcache"
	TempDirName     = "tmp"
	CASDirName      = "cas"    // blobs of delta uploads
	CcacheDirName   = "ccache" // the compile cache (fwbuild-manager --ccache-dir's default)
)

// Files and dirs of a context that are written by the server or the build,
// never uploaded.
const (
	BuildDirName   = "build"
	CtxTempDirName = "tmp"
	ParamsFileName = "build_params.yml"
)

// Reserved reports whether the top-level upload name would clash with
// what the server or the build writes into a context.
func Reserved(top string) bool {
	return top == BuildDirName || top == CtxTempDirName || top == ParamsFileName
}

// Key says which app and platform of which version a context belongs to.
type Key struct {
	Version, App, Platform string
}

func (k Key) String() string { return k.Version + "/" + k.App + "/" + k.Platform }

// CheckVersion reports a version segment that cannot be a directory of
// the volumes dir.
func CheckVersion(v string) error {
	if err := checkComponent("version", v); err != nil {
		return fmt.Errorf("%w: %w", ErrBadKey, err)
	}
	if v == LibCacheDirName || v == TempDirName || v == CASDirName || v == CcacheDirName {
		return fmt.Errorf("%w: version %q is reserved", ErrBadKey, v)
	}
	return nil
}

// Check reports a field that cannot be one plain directory name.
func (k Key) Check() error {
	if err := CheckVersion(k.Version); err != nil {
		return err
	}
	if err := checkComponent("app name", k.App); err != nil {
		return fmt.Errorf("%w: %w", ErrBadKey, err)
	}
	if err := checkComponent("platform", k.Platform); err != nil {
		return fmt.Errorf("%w: %w", ErrBadKey, err)
	}
	return nil
}

// checkComponent is protocol.CheckPathComponent, refusing an over-long
// value first so the message quotes only its start.
func checkComponent(what, s string) error {
	if len(s) > MaxComponentLength {
		return fmt.Errorf("%s %s is longer than %d bytes", what, archive.QuotePrefix(s), MaxComponentLength)
	}
	return protocol.CheckPathComponent(what, s)
}

// CheckName reports a context name that is not letters, digits and _, or
// longer than MaxNameLength.
func CheckName(name string) error {
	if len(name) > MaxNameLength {
		return fmt.Errorf("%w: %s is longer than %d bytes", ErrBadName, archive.QuotePrefix(name), MaxNameLength)
	}
	if !protocol.ValidContextName(name) {
		return fmt.Errorf("%w: %q: use letters, digits and _ only", ErrBadName, name)
	}
	return nil
}

// SyncFunc brings src into dst; filetree.Sync is the real one.
type SyncFunc func(src, dst string, srcList, dstList []filetree.Entry) (filetree.SyncStats, error)

// Options tunes a Store.
type Options struct {
	// Sync replaces filetree.Sync (tests use it to fail part-way).
	Sync SyncFunc
	// OnLockWait, if set, is called when a context's lock file is held by
	// someone else (another process, or another Store), just before Lock
	// starts waiting for it.
	OnLockWait func(key Key, name string)
	// LockPoll is how often a held lock file is tried again (default 100ms).
	LockPoll time.Duration
	// BootID names this boot of the machine (default: the kernel's boot
	// id); state records of other boots are not trusted (see state.go).
	BootID string
}

// Store is the set of contexts under one volumes dir.
type Store struct {
	root  string
	opts  Options
	sizes sizeCache // for Collect
	// boot is this boot's id, syncedBoot the boot of the last synced stop
	// (state.go).
	boot, syncedBoot string
}

// NewStore returns the Store rooted at volumesDir, creating the dir.
func NewStore(volumesDir string, opts Options) (*Store, error) {
	abs, err := filepath.Abs(volumesDir)
	if err != nil {
		return nil, fmt.Errorf("volumes dir %s: %w", volumesDir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("creating volumes dir: %w", err)
	}
	if opts.Sync == nil {
		opts.Sync = filetree.Sync
	}
	if opts.LockPoll <= 0 {
		opts.LockPoll = 100 * time.Millisecond
	}
	if opts.BootID == "" {
		opts.BootID = bootID()
	}
	s := &Store{root: abs, opts: opts, boot: opts.BootID}
	if err := s.loadSyncedStop(); err != nil {
		return nil, err
	}
	return s, nil
}

// Root returns the absolute volumes dir.
func (s *Store) Root() string { return s.root }

// ContextsDir returns the build_contexts dir of key.
func (s *Store) ContextsDir(key Key) string {
	return filepath.Join(s.root, key.Version, "apps", key.App, key.Platform, "build_contexts")
}

// NewName creates a context dir with a fresh random name, build_ctx_<digits>
// as stock names them, and returns the name.
func (s *Store) NewName(key Key) (string, error) {
	if err := key.Check(); err != nil {
		return "", err
	}
	dir := s.ContextsDir(key)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating %s: %w", dir, err)
	}
	p, err := os.MkdirTemp(dir, "build_ctx_")
	if err != nil {
		return "", fmt.Errorf("creating a new context in %s: %w", dir, err)
	}
	return filepath.Base(p), nil
}

// Lock takes the lock of context name of key, waiting while another
// process holds it or until ctx ends. The context dir need not exist.
func (s *Store) Lock(ctx context.Context, key Key, name string) (*Context, error) {
	if err := key.Check(); err != nil {
		return nil, err
	}
	if err := CheckName(name); err != nil {
		return nil, err
	}
	dir := s.ContextsDir(key)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	c := &Context{Key: key, Name: name, Dir: filepath.Join(dir, name), store: s}
	lf, err := s.waitLock(ctx, c.LockPath(), func() {
		if s.opts.OnLockWait != nil {
			s.opts.OnLockWait(key, name)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("locking context %s of %s: %w", name, key, err)
	}
	c.lock = lf
	return c, nil
}

// waitLock takes the lock file at path, calling onWait once if it has to
// wait, until ctx ends.
func (s *Store) waitLock(ctx context.Context, path string, onWait func()) (*lockFile, error) {
	var tick *time.Ticker
	for {
		lf, ok, err := tryLockFile(path)
		if err != nil {
			return nil, err
		}
		if ok {
			return lf, nil
		}
		if tick == nil {
			onWait()
			tick = time.NewTicker(s.opts.LockPoll)
			defer tick.Stop()
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}

// Context is one locked build context.
type Context struct {
	Key  Key
	Name string
	Dir  string // absolute

	store *Store
	lock  *lockFile
	used  bool // Use was called: Close records the time of last use
}

func (c *Context) meta(suffix string) string { return c.Dir + suffix }

// LockPath is the lock file beside the context; its mtime is the time
// the context was last used (Collect removes the least recently used).
func (c *Context) LockPath() string { return c.meta(".lock") }

// LockFile is the open, locked lock file, for the build's processes to
// inherit: while any of them lives the context stays locked, so a server
// restarted after a crash never builds a context an orphaned build is
// still writing. nil where locks cannot be inherited.
func (c *Context) LockFile() *os.File { return c.lock.file() }

// Use records that the context is used now (and again when it is
// closed), for Collect's least-recently-used order.
func (c *Context) Use() error {
	c.used = true
	return c.touch()
}

func (c *Context) touch() error {
	now := time.Now()
	if err := os.Chtimes(c.LockPath(), now, now); err != nil {
		return fmt.Errorf("context %s: recording its use: %w", c.Name, err)
	}
	return nil
}

// IndexFile, DirtyFile, OutputFile are the metadata files beside the
// context dir.
func (c *Context) IndexFile() string  { return c.meta(".index.json") }
func (c *Context) DirtyFile() string  { return c.meta(".dirty") }
func (c *Context) OutputFile() string { return c.meta(".output.log") }

// SentDir, beside the context dir, keeps copies of result files sent to
// its clients, as bases of binary deltas (fwbuild/resultpatch); it is
// counted in the context's size and removed with it.
func (c *Context) SentDir() string { return c.meta(".sent") }

// BuildDir, TempDir, ParamsFile are inside the context dir.
func (c *Context) BuildDir() string   { return filepath.Join(c.Dir, BuildDirName) }
func (c *Context) TempDir() string    { return filepath.Join(c.Dir, CtxTempDirName) }
func (c *Context) ParamsFile() string { return filepath.Join(c.Dir, ParamsFileName) }

// Close releases the lock, recording the time of last use if the context
// was used.
func (c *Context) Close() error {
	if c.lock == nil {
		return nil
	}
	var terr error
	if c.used {
		terr = c.touch()
	}
	err := c.lock.unlock()
	c.lock = nil
	if err != nil {
		return fmt.Errorf("unlocking context %s: %w", c.Name, err)
	}
	return terr
}

// Dirty reports whether the context is marked dirty.
func (c *Context) Dirty() bool {
	_, err := os.Lstat(c.DirtyFile())
	return err == nil
}

// UpdateResult says how an upload went into the context.
type UpdateResult struct {
	// Fresh: the context was (re)created from the upload; Why says why.
	Fresh bool
	Why   string
	// Stats of the incremental sync (zero when Fresh).
	Stats filetree.SyncStats
	Files int // files in the upload
}

// FillFunc puts into the upload dir the files of need (their content, with
// their mode) before Update reads them. A delta upload has only a listing
// and fills src from the blob store; an unpacked zip needs no filling.
type FillFunc func(need []filetree.Entry) error

// Update brings the upload in src, listed as list, into the context; see
// the package comment. src is consumed. With clean, or when the context is
// dirty, has no usable index or no dir, the context is replaced by the
// upload as a whole (build/ and fetched deps go too). A non-nil fill is
// asked for the files Update needs from src before it changes anything;
// its error is returned as is, with the context untouched.
func (c *Context) Update(src string, list []filetree.Entry, clean bool, fill FillFunc) (UpdateResult, error) {
	res := UpdateResult{Files: len(list)}
	why, old, err := c.freshReason(clean)
	if err != nil {
		return res, err
	}
	filled := map[string]bool{}
	fillFor := func(need []filetree.Entry) error {
		if fill == nil {
			return nil
		}
		var todo []filetree.Entry
		for _, e := range need {
			if !filled[e.Path] {
				todo = append(todo, e)
			}
		}
		if err := fill(todo); err != nil {
			return err
		}
		for _, e := range todo {
			filled[e.Path] = true
		}
		return nil
	}
	if why == "" {
		if err := fillFor(c.needContent(old, list)); err != nil {
			return res, err
		}
		if err := c.writeState(false); err != nil {
			return res, err
		}
		st, err := c.store.opts.Sync(src, c.Dir, list, old)
		res.Stats = st
		switch {
		case err == nil:
			faultpoint.Hit("ctx.index")
			if err := filetree.WriteIndex(c.IndexFile(), list); err != nil {
				return res, c.markDirtyAfter(err)
			}
			return res, nil
		case len(st.Touched) > 0:
			return res, c.markDirtyAfter(err)
		case errors.Is(err, filetree.ErrConflict):
			// Nothing changed yet and the upload cannot go over what
			// is there (e.g. a file where the build made a dir).
			why = fmt.Sprintf("upload conflicts with the context (%v)", err)
		default:
			return res, fmt.Errorf("syncing upload into context %s: %w", c.Name, err)
		}
	}
	res.Fresh, res.Why, res.Stats = true, why, filetree.SyncStats{}
	if err := fillFor(list); err != nil {
		return res, err
	}
	return res, c.replace(src, list, why)
}

// needContent: the files of list whose content Sync reads from the
// upload: those new or changed in content against the index, and those
// changed in mode only whose file the context no longer holds (the build
// deleted it), which Sync brings in again.
func (c *Context) needContent(old, list []filetree.Entry) []filetree.Entry {
	need := filetree.NeedContent(old, list)
	inNeed := make(map[string]bool, len(need))
	for _, e := range need {
		inNeed[e.Path] = true
	}
	byPath := make(map[string]filetree.Entry, len(old))
	for _, e := range old {
		byPath[e.Path] = e
	}
	root, err := os.OpenRoot(c.Dir)
	if err != nil {
		return list // cannot look: ask for everything
	}
	defer root.Close()
	for _, e := range list {
		o, ok := byPath[e.Path]
		if !ok || inNeed[e.Path] || o.Mode == e.Mode {
			continue
		}
		if fi, err := root.Lstat(filepath.FromSlash(e.Path)); err != nil || !fi.Mode().IsRegular() {
			need = append(need, e)
		}
	}
	return need
}

// freshReason says why the context must start afresh, or "" when an
// incremental sync is possible; then it returns the stored index too.
func (c *Context) freshReason(clean bool) (string, []filetree.Entry, error) {
	if clean {
		return "clean requested", nil, nil
	}
	if c.Dirty() {
		why := "context was marked dirty"
		if b, err := os.ReadFile(c.DirtyFile()); err == nil {
			if _, reason, ok := strings.Cut(strings.TrimSpace(string(b)), " "); ok {
				why += " (" + reason + ")"
			}
		}
		return why, nil, nil
	}
	fi, err := os.Lstat(c.Dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "new context", nil, nil
	case err != nil:
		return "", nil, fmt.Errorf("context %s: %w", c.Name, err)
	case !fi.IsDir():
		return "context is not a directory", nil, nil
	}
	old, err := filetree.ReadIndex(c.IndexFile())
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if empty, _ := emptyDir(c.Dir); empty {
			return "new context", nil, nil
		}
		return "no index of the previous upload", nil, nil
	case err != nil:
		return fmt.Sprintf("index unusable (%v)", err), nil, nil
	}
	if why := c.untrusted(); why != "" {
		return why, nil, nil
	}
	return "", old, nil
}

// emptyDir reports whether dir has no entries.
func emptyDir(dir string) (bool, error) {
	f, err := os.Open(dir)
	if err != nil {
		return false, err
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	return false, err
}

// replace makes the upload the whole context. The dirty marker covers
// every step, so a crash or error half-way leads to another replace.
func (c *Context) replace(src string, list []filetree.Entry, why string) error {
	fail := func(what string, err error) error {
		return fmt.Errorf("starting context %s afresh: %s: %w", c.Name, what, err)
	}
	if err := c.markDirty(why); err != nil {
		return fail("marking dirty", err)
	}
	if err := c.writeState(false); err != nil {
		return fail("recording its state", err)
	}
	if err := os.Remove(c.IndexFile()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fail("removing index", err)
	}
	faultpoint.Hit("ctx.replace")
	if err := os.RemoveAll(c.Dir); err != nil {
		return fail("removing old context", err)
	}
	faultpoint.Hit("ctx.replace")
	if err := os.Rename(src, c.Dir); err != nil {
		// Not on the same file system: copy file by file.
		if _, err := filetree.Sync(src, c.Dir, list, nil); err != nil {
			return fail("moving upload in", err)
		}
	}
	if err := filetree.WriteIndex(c.IndexFile(), list); err != nil {
		return fail("writing index", err)
	}
	if err := os.Remove(c.DirtyFile()); err != nil {
		return fail("removing dirty marker", err)
	}
	return nil
}

// MarkDirty marks the context dirty, saying why: its next build starts it
// afresh from the upload. For what finds a context untrustworthy after the
// fact (a verification build that disagreed with it).
func (c *Context) MarkDirty(why string) error { return c.markDirty(why) }

func (c *Context) markDirty(why string) error {
	return os.WriteFile(c.DirtyFile(), []byte(time.Now().UTC().Format(time.RFC3339)+" "+why+"\n"), 0o644)
}

// markDirtyAfter records that an update failed after changing the context
// and returns the error to report.
func (c *Context) markDirtyAfter(cause error) error {
	var errs []error
	if err := c.markDirty(cause.Error()); err != nil {
		errs = append(errs, fmt.Errorf("marking dirty: %w", err))
	}
	// Without an index the context is started afresh too, should the
	// marker be lost.
	if err := os.Remove(c.IndexFile()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, fmt.Errorf("removing index: %w", err))
	}
	err := fmt.Errorf("syncing upload into context %s: %w (%w; the next build starts it afresh)", c.Name, cause, ErrDirty)
	return errors.Join(append([]error{err}, errs...)...)
}

// Prepare writes the build params verbatim to build_params.yml and makes
// tmp/ a fresh, empty dir (what an earlier build left there goes), before
// a build.
func (c *Context) Prepare(params []byte) error {
	root, err := os.OpenRoot(c.Dir)
	if err != nil {
		return fmt.Errorf("preparing context %s: %w", c.Name, err)
	}
	defer root.Close()
	if err := root.Remove(ParamsFileName); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("preparing context %s: %w", c.Name, err)
	}
	if err := root.WriteFile(ParamsFileName, params, 0o644); err != nil {
		return fmt.Errorf("preparing context %s: writing %s: %w", c.Name, ParamsFileName, err)
	}
	if err := root.RemoveAll(CtxTempDirName); err != nil {
		return fmt.Errorf("preparing context %s: emptying %s/: %w", c.Name, CtxTempDirName, err)
	}
	if err := root.MkdirAll(CtxTempDirName, 0o755); err != nil {
		return fmt.Errorf("preparing context %s: creating %s/: %w", c.Name, CtxTempDirName, err)
	}
	return nil
}

// Finish makes sure build/gen exists, whatever the build did, and writes
// build/gen/build_ctx.txt naming the context (no newline), which the
// client sends back as build_ctx next time.
func (c *Context) Finish() error {
	root, err := os.OpenRoot(c.Dir)
	if err != nil {
		return fmt.Errorf("finishing context %s: %w", c.Name, err)
	}
	defer root.Close()
	gen := filepath.Join(BuildDirName, "gen")
	if err := root.MkdirAll(gen, 0o755); err != nil {
		return fmt.Errorf("finishing context %s: creating build/gen: %w", c.Name, err)
	}
	f := filepath.Join(gen, protocol.BuildCtxFile)
	if err := root.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("finishing context %s: %w", c.Name, err)
	}
	if err := root.WriteFile(f, []byte(c.Name), 0o644); err != nil {
		return fmt.Errorf("finishing context %s: writing %s: %w", c.Name, protocol.BuildCtxFile, err)
	}
	return nil
}

// GuardedDirs are the dirs of a context that the server and the mos it
// runs write to or remove from outside the sandbox: each must be a real
// dir, never a link a build made to lead elsewhere.
var GuardedDirs = []string{BuildDirName, BuildDirName + "/gen", BuildDirName + "/objs", BuildDirName + "/fw", "deps", CtxTempDirName}

// RealDirs removes any link (or other non-dir) among the context's
// GuardedDirs and the dirs above them, and returns what it removed.
func (c *Context) RealDirs() ([]string, error) {
	removed, err := filetree.RealDirs(c.Dir, GuardedDirs...)
	if err != nil {
		return removed, fmt.Errorf("context %s: %w", c.Name, err)
	}
	return removed, nil
}

// TopLevel returns the first component of a slash path.
func TopLevel(p string) string {
	top, _, _ := strings.Cut(p, "/")
	return top
}
