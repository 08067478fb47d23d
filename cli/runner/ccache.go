package runner

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/mongoose-os/mos/common/ccachestats"
)

// Ccache puts ccache in front of the compilers make runs, unmodified
// platform makefiles included: a dir of links named like the compilers
// (ccache's "masquerade" mode) goes first on PATH, so a makefile calling
// plain clang or xtensa-esp32-elf-gcc runs ccache, which runs the real one.
//
// The base dir is the app dir (the server's context) and the working dir is
// not hashed, so two contexts of the same app, at different paths, share
// their objects: ccache rewrites absolute paths below the base dir to
// relative ones before hashing and compiling.
type Ccache struct {
	// Dir is the cache (CCACHE_DIR), absolute; created when missing.
	Dir string
	// MaxSize is ccache's max_size ("5G"); "" keeps ccache's default.
	MaxSize string
	// Remote is ccache's remote_storage: redis://host:port or
	// http://host/path shared by many machines; "" for none. A sandboxed
	// build has no network, so a redis:// remote is reached through a
	// unix socket where mos proxies ccache's commands only, under
	// Namespace (see redisProxy); an http:// one is not reachable from
	// the sandbox.
	Remote string
	// StatsLog receives this build's counters (ccache's stats_log); ""
	// for none. The runner sums them up in the log after make.
	StatsLog string
	// Binary is the ccache program; "ccache" when empty.
	Binary string
	// Base is a cache shared with other namespaces (ccache's file:
	// remote storage), "" for none. A build reads it, and writes it only
	// with BaseWrite: a build server fills it from builds it trusts and
	// shows it read-only to all others, so no build can plant an object
	// that another's build takes.
	Base      string
	BaseWrite bool
	// Namespace is the build's namespace on a forwarded redis remote:
	// its keys are prefixed with it, so what one namespace's builds
	// write, another's never read (the base cache's keys excepted, see
	// Base). "" keeps the keys as ccache makes them. Letters, digits,
	// '_' and '-' only.
	Namespace string

	// ScanState is where the time-macro check keeps what it read (a file
	// the build's result never carries, e.g. in build/objs), so the next
	// build reads only what changed; "" reads everything each build.
	ScanState string
}

// ccacheCompilers are the compiler names linked to ccache in every case;
// besides them, every <prefix>-gcc, -g++, -cc, -c++, -clang and -clang++ on
// PATH (cross toolchains).
var ccacheCompilers = []string{"cc", "c++", "gcc", "g++", "clang", "clang++"}

var crossSuffixes = []string{"-gcc", "-g++", "-cc", "-c++", "-clang", "-clang++"}

// ccacheRun is what a runner needs for one build with ccache.
type ccacheRun struct {
	env      []string // NAME=value for ccache
	tempDir  string   // holds the remote's socket
	binDir   string   // the links; "" in docker (the container makes its own)
	closers  []io.Closer
	statsLog string
	trim     func(io.Writer) // after make: keeps a base cache it wrote in size
}

func (c *Ccache) bin() string {
	if c.Binary != "" {
		return c.Binary
	}
	return "ccache"
}

// prepare sets ccache up for job. baseDir is the app dir as the compiler
// sees it, toPath maps a host path to what make sees. native says to make
// the links here (the docker runner's container makes its own); noNet
// says make cannot reach the remote storage's address itself; oneBase
// says every context of an app is seen at this same baseDir (the
// server's sandbox), so ccache runs in depend mode there. It returns
// nil, having written one warning line, when ccache cannot be used: the
// build then runs without it.
func (c *Ccache) prepare(job *Job, baseDir string, native, noNet, oneBase bool, toPath func(string) string) *ccacheRun {
	warn := func(format string, args ...any) {
		fmt.Fprintf(job.Log, "Warning: ccache: "+format+"\n", args...)
	}
	var ccBin string
	if native {
		p, err := exec.LookPath(c.bin())
		if err != nil {
			warn("%s not found on PATH; building without the compile cache (install the ccache package)", c.bin())
			return nil
		}
		if ccBin, err = filepath.Abs(p); err != nil {
			warn("%v; building without the compile cache", err)
			return nil
		}
	}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		warn("cache dir: %v; building without the compile cache", err)
		return nil
	}
	tmp, err := os.MkdirTemp("", "mos-ccache-")
	if err != nil {
		warn("%v; building without the compile cache", err)
		return nil
	}
	r := &ccacheRun{tempDir: tmp, statsLog: c.StatsLog}
	if native && noNet {
		// Sandboxed: the links are made for this build in its temp dir,
		// bound read-only, and removed after it. Kept in the writable
		// cache dir, one build could swap them for its own compiler,
		// which every later build would run.
		r.binDir = filepath.Join(tmp, "bin")
		if err := linkCompilers(r.binDir, ccBin, os.Getenv("PATH")); err != nil {
			r.close()
			warn("%v; building without the compile cache", err)
			return nil
		}
	} else if native {
		if r.binDir, err = c.compilerLinks(ccBin, os.Getenv("PATH")); err != nil {
			r.close()
			warn("%v; building without the compile cache", err)
			return nil
		}
	}
	r.env = []string{
		"CCACHE_DIR=" + toPath(c.Dir),
		"CCACHE_BASEDIR=" + baseDir,
		"CCACHE_NOHASHDIR=1",
		// Hashes of the headers every source includes are kept by inode
		// and time, not computed again for each compile: a cache hit in
		// a new context costs less (about 2% of the real core's build).
		"CCACHE_INODECACHE=1",
	}
	if oneBase {
		// Depend mode: a miss compiles once, taking the headers from the
		// compiler's -MD output, instead of running the preprocessor
		// first (real core, empty cache: 10.5-14.1 s instead of 16 s, 11.5 s
		// without ccache). It gives up the preprocessed-output fallback,
		// which only finds what direct mode misses when the command line
		// or a generated header names the context's path or app dir;
		// here all contexts have one path, and their hits are all direct.
		// ccache turns it off by itself for a compile without -MD.
		//
		// Sloppiness time_macros: ccache turns direct mode off for a
		// source whose headers hold the bare words __TIME__ or __DATE__,
		// and depend mode then has no lookup left, so such a compile
		// always missed. ST's STM32 HAL (in the SDK) names macro
		// parameters so: 139 of 266 compiles of the stm32 platform missed
		// in a warm cache (issue 24). The sloppiness would let a source
		// that does expand them get the time of an earlier compile, so it
		// is used only when no file of the build's own (app, libs, core)
		// names them; otherwise ccache runs in its default mode, where
		// such a source misses and the HAL's hit through the preprocessor.
		if f := c.timeMacroFileOf(append([]string{job.AppDir, job.MosDir}, job.Mounts...), job.Writes); f == "" {
			r.env = append(r.env, "CCACHE_DEPEND=1", "CCACHE_SLOPPINESS=time_macros")
		} else {
			fmt.Fprintf(job.Log, "ccache: %s names __TIME__, __DATE__ or __TIMESTAMP__: sources miss the cache when they expand them, and hit through the preprocessor (slower) when they only include such a name\n", relOr(job.AppDir, f))
		}
	}
	if c.MaxSize != "" {
		r.env = append(r.env, "CCACHE_MAXSIZE="+c.MaxSize)
	}
	if c.StatsLog != "" {
		_ = os.Remove(c.StatsLog)
		r.env = append(r.env, "CCACHE_STATSLOG="+toPath(c.StatsLog))
	}
	var remotes []string
	if c.Base != "" {
		if err := os.MkdirAll(c.Base, 0o755); err != nil {
			warn("base cache: %v; building without it", err)
		} else {
			base := "file:" + toPath(c.Base)
			if c.BaseWrite {
				r.trim = c.trimBase
				// A local hit is written to the base too, so it holds
				// everything a trusted build used, not only its misses.
				r.env = append(r.env, "CCACHE_RESHARE=1")
			} else {
				base += "|read-only"
			}
			remotes = append(remotes, base)
		}
	}
	if c.Remote != "" {
		remote, closer, err := reachRemote(c.Remote, tmp, noNet, toPath, c.keyPrefixes())
		if err != nil {
			warn("remote storage %s: %v; using the local cache only", redactURL(c.Remote), err)
		} else {
			remotes = append(remotes, remote)
			if closer != nil {
				r.closers = append(r.closers, closer)
			}
		}
	}
	if len(remotes) > 0 {
		r.env = append(r.env, "CCACHE_REMOTE_STORAGE="+strings.Join(remotes, " "))
	}
	return r
}

// trimBase keeps the base cache under MaxSize after a build that wrote
// it: ccache cleans its local dir itself, never a file: storage.
func (c *Ccache) trimBase(log io.Writer) {
	if c.Base == "" || !c.BaseWrite || c.MaxSize == "" {
		return
	}
	if out, err := exec.Command(c.bin(), "--trim-dir", c.Base, "--trim-max-size", c.MaxSize).CombinedOutput(); err != nil {
		fmt.Fprintf(log, "Warning: ccache: trimming the base cache %s: %v: %s\n", c.Base, err, strings.TrimSpace(string(out)))
	}
}

// keyPrefixes are the redis key prefixes of a build: where it writes,
// and where it reads, in order.
func (c *Ccache) keyPrefixes() keyPrefixes {
	const base = "mos:base:"
	switch {
	case c.BaseWrite:
		return keyPrefixes{write: base, read: []string{base}}
	case c.Namespace != "":
		ns := "mos:ns:" + c.Namespace + ":"
		return keyPrefixes{write: ns, read: []string{ns, base}}
	}
	return keyPrefixes{read: []string{""}}
}

func (r *ccacheRun) close() {
	if r == nil {
		return
	}
	for _, c := range r.closers {
		_ = c.Close()
	}
	_ = os.RemoveAll(r.tempDir)
}

// environ is env with PATH led by the links and ccache's variables.
func (r *ccacheRun) environ(env []string) []string {
	out := make([]string, 0, len(env)+len(r.env)+1)
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
			continue
		}
		if strings.HasPrefix(kv, "CCACHE_") {
			continue // ours only: a caller's CCACHE_DISABLE or _DIR would change where objects go
		}
		out = append(out, kv)
	}
	if r.binDir != "" {
		path = r.binDir + string(os.PathListSeparator) + path
	}
	out = append(out, "PATH="+path)
	return append(out, r.env...)
}

// report sums up the build's counters from the stats log in one line.
func (r *ccacheRun) report(log io.Writer) {
	if r == nil {
		return
	}
	if r.trim != nil {
		r.trim(log)
	}
	if r.statsLog == "" {
		return
	}
	st, err := ReadCcacheStats(r.statsLog)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			fmt.Fprintln(log, "ccache: nothing compiled")
			return
		}
		fmt.Fprintf(log, "ccache: reading the statistics: %v\n", err)
		return
	}
	fmt.Fprintln(log, st.String())
}

// CcacheStats are the counters of one build, from ccache's stats log.
type CcacheStats = ccachestats.Stats

// ReadCcacheStats reads a stats log ccache wrote.
func ReadCcacheStats(path string) (CcacheStats, error) { return ccachestats.Read(path) }

// linksDir is where the cache dir keeps its compiler links (not a name
// ccache uses: its own dirs are 0-f and tmp).
const linksDir = "mos-bin"

// compilerLinks returns a dir of links to ccBin named like the compilers
// on path, made once and kept in the cache dir: scanning path's dirs for
// cross compilers takes 2 ms, a lot for a build with nothing to compile.
// The dir's name hashes ccBin, path and each of path's dirs' modification
// time, so a compiler installed or removed since gets a new one.
func (c *Ccache) compilerLinks(ccBin, path string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", ccBin, path)
	for _, d := range filepath.SplitList(path) {
		if fi, err := os.Stat(d); err == nil {
			fmt.Fprintf(h, "%s %d\x00", d, fi.ModTime().UnixNano())
		}
	}
	parent := filepath.Join(c.Dir, linksDir)
	dir := filepath.Join(parent, hex.EncodeToString(h.Sum(nil))[:16])
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		return dir, nil
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", fmt.Errorf("compiler links: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, ".new-")
	if err != nil {
		return "", fmt.Errorf("compiler links: %w", err)
	}
	if err := linkCompilers(tmp, ccBin, path); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("compiler links: %w", err)
	}
	// Another build may have made it meanwhile: theirs is as good.
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		if fi, serr := os.Stat(dir); serr != nil || !fi.IsDir() {
			return "", fmt.Errorf("compiler links: %w", err)
		}
	}
	return dir, nil
}

// linkCompilers makes dir with a link to ccache for each compiler name.
func linkCompilers(dir, ccBin, path string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	names := map[string]bool{}
	for _, n := range ccacheCompilers {
		names[n] = true
	}
	for _, d := range filepath.SplitList(path) {
		ents, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range ents {
			for _, suf := range crossSuffixes {
				if strings.HasSuffix(e.Name(), suf) && len(e.Name()) > len(suf) {
					names[e.Name()] = true
				}
			}
		}
	}
	for n := range names {
		if err := os.Symlink(ccBin, filepath.Join(dir, n)); err != nil {
			return fmt.Errorf("linking %s to ccache: %w", n, err)
		}
	}
	return nil
}

// dialTimeout bounds the check that the remote storage answers.
const dialTimeout = 3 * time.Second

// reachRemote checks that the remote storage answers and returns the URL
// ccache is to use. A sandboxed build reaches a redis:// remote through a
// unix socket in dir, forwarded by mos (the closer stops it).
func reachRemote(remote, dir string, noNet bool, toPath func(string) string, keys keyPrefixes) (string, io.Closer, error) {
	u, err := url.Parse(remote)
	if err != nil {
		return "", nil, fmt.Errorf("not a URL: %w", err)
	}
	var addr string
	switch u.Scheme {
	case "redis":
		addr = hostPort(u.Host, "6379")
	case "http":
		addr = hostPort(u.Host, "80")
	case "https":
		return "", nil, errors.New("https is not supported by ccache (use http or redis)")
	case "redis+unix", "file":
		return remote, nil, nil // a path: nothing to dial
	default:
		return "", nil, fmt.Errorf("unknown scheme %q (use redis://host:port or http://host/path)", u.Scheme)
	}
	c, err := net.DialTimeout("tcp", addr, dialTimeout)
	if err != nil {
		return "", nil, fmt.Errorf("unreachable: %w", err)
	}
	c.Close()
	if !noNet {
		return remote, nil, nil
	}
	if u.Scheme != "redis" {
		return "", nil, errors.New("the build cannot reach it (no network in the sandbox or container); only a redis:// remote storage is forwarded to a build")
	}
	sock := filepath.Join(dir, "redis.sock")
	fw, err := proxyRedis(sock, addr, u, keys)
	if err != nil {
		return "", nil, err
	}
	// Any user of a container may connect (docker --user nobody).
	if err := os.Chmod(dir, 0o755); err == nil {
		err = os.Chmod(sock, 0o777)
	}
	if err != nil {
		fw.Close()
		return "", nil, fmt.Errorf("forwarding socket: %w", err)
	}
	// ccache: redis+unix:PATH. The proxy logs in and selects the
	// database itself: the build never sees the credentials.
	return "redis+unix://localhost" + toPath(sock), fw, nil
}

func hostPort(host, port string) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	return net.JoinHostPort(host, port)
}

// redactURL drops a password from a URL for logs.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	return u.Redacted()
}

// dockerCcacheScript runs in the SDK container before make: it links the
// compilers on the image's PATH to the image's ccache, or says once that
// the image has none and runs make as it is. Nothing of the build's input
// is interpolated: make and its arguments come as "$@".
const dockerCcacheScript = `cc=$(command -v ccache 2>/dev/null)
if [ -n "$cc" ]; then
  d=$(mktemp -d 2>/dev/null) || { d=/tmp/mos-ccache-bin.$$; mkdir -p "$d"; }
  for c in cc c++ gcc g++ clang clang++; do ln -sf "$cc" "$d/$c"; done
  old=$IFS; IFS=:
  for p in $PATH; do
    for f in "$p"/*-gcc "$p"/*-g++ "$p"/*-cc "$p"/*-c++ "$p"/*-clang "$p"/*-clang++; do
      [ -x "$f" ] && ln -sf "$cc" "$d/${f##*/}"
    done
  done
  IFS=$old
  PATH="$d:$PATH"; export PATH
else
  echo "Warning: ccache: not in the SDK image; building without the compile cache (README: ccache, a derived image)"
  unset CCACHE_DIR CCACHE_BASEDIR CCACHE_NOHASHDIR CCACHE_INODECACHE CCACHE_DEPEND CCACHE_SLOPPINESS CCACHE_MAXSIZE CCACHE_STATSLOG CCACHE_REMOTE_STORAGE
fi
exec "$@"`

// sandboxed is what a bwrap sandbox needs for ccache: the cache dir
// writable, the links and the remote's socket read-only (a socket works
// on a read-only mount), ccache's variables and PATH led by the links
// (nil without ccache).
func (r *ccacheRun) sandboxed(c *Ccache) *sandboxExtra {
	if r == nil {
		return nil
	}
	// The links are in the temp dir, read-only: a build cannot swap the
	// compilers another build runs. The base cache is read-only but to
	// the builds trusted to fill it.
	x := &sandboxExtra{writable: []string{c.Dir}, readOnly: []string{r.tempDir}}
	if c.Base != "" {
		if c.BaseWrite {
			x.writable = append(x.writable, c.Base)
		} else {
			x.readOnly = append(x.readOnly, c.Base)
		}
	}
	x.env = append(x.env, "PATH="+r.binDir+string(os.PathListSeparator)+sandboxPATH)
	x.env = append(x.env, r.env...)
	return x
}
