package runner

import (
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/mongoose-os/mos/common/filetree"
)

// timeMacroTails are the macros whose expansion changes with the time of
// the compile (__TIME__, __DATE__, __TIMESTAMP__) without their leading
// "__": searched from a letter rarer in C than '_', a scan of the real
// core takes a third of the time.
var timeMacroTails = [][]byte{[]byte("TIME__"), []byte("DATE__"), []byte("TIMESTAMP__")}

// namesTimeMacro reports whether data holds one of the time macros.
func namesTimeMacro(data []byte) bool {
	for _, tail := range timeMacroTails {
		for off := 0; ; {
			i := bytes.Index(data[off:], tail)
			if i < 0 {
				break
			}
			if at := off + i; at >= 2 && data[at-1] == '_' && data[at-2] == '_' {
				return true
			}
			off += i + 1
		}
	}
	return false
}

// cFamily are the extensions of the files a compile may read.
var cFamily = map[string]bool{
	".c": true, ".h": true, ".cc": true, ".cpp": true, ".cxx": true, ".hh": true, ".hpp": true, ".hxx": true,
	".S": true, ".s": true, ".inc": true, ".ipp": true, ".tcc": true,
}

// fileSig tells whether a file is the one an earlier scan read.
type fileSig struct {
	size  int64
	mtime int64
	ino   uint64
}

func sigOf(fi fs.FileInfo) fileSig {
	return fileSig{fi.Size(), fi.ModTime().UnixNano(), inode(fi)}
}

// timeScan is a scan of C-family files for the time macros.
type timeScan struct {
	found string             // a file naming one; "" when none did
	clean map[string]fileSig // the files read that name none
}

// listCFiles walks dirs (links not followed, .git and skip left out) for
// C-family files; missing dirs are skipped: they are not the build's.
func listCFiles(dirs, skip []string) map[string]fileSig {
	files := map[string]fileSig{}
	seen := map[string]bool{}
	for _, d := range skip {
		seen[d] = true
	}
	for _, dir := range dirs {
		if dir == "" {
			continue
		}
		_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			switch {
			case err != nil:
				return nil
			case d.IsDir():
				if d.Name() == ".git" || seen[path] {
					return filepath.SkipDir
				}
				seen[path] = true
			case d.Type().IsRegular() && cFamily[filepath.Ext(path)]:
				if fi, err := d.Info(); err == nil {
					files[path] = sigOf(fi)
				}
			}
			return nil
		})
	}
	return files
}

// scanTimeMacros lists the C-family files under dirs but skip and reads
// those that prev (an earlier scan, nil for none) did not read as they
// are now.
func scanTimeMacros(dirs, skip []string, prev *timeScan) *timeScan {
	files := listCFiles(dirs, skip)
	var paths []string
	for p, sig := range files {
		if prev == nil || prev.clean[p] != sig {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	res := &timeScan{clean: files}
	// Read on every core: most of the time is the reads' system calls.
	var (
		mu   sync.Mutex
		next atomic.Int64
		wg   sync.WaitGroup
	)
	for w := min(runtime.GOMAXPROCS(0), 4); w > 0; w-- {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// One buffer per reader: a fresh one per file cost more in page
			// faults and GC than the reads (perf, the real core's context).
			buf := make([]byte, 0, 256<<10)
			for {
				i := int(next.Add(1)) - 1
				if i >= len(paths) {
					return
				}
				var err error
				buf, err = readInto(buf, paths[i], files[paths[i]].size)
				if err != nil || !namesTimeMacro(buf) {
					continue
				}
				mu.Lock()
				if res.found == "" || paths[i] < res.found {
					res.found = paths[i]
				}
				mu.Unlock()
				next.Store(int64(len(paths))) // enough: stop the others
				return
			}
		}()
	}
	wg.Wait()
	if res.found != "" {
		res.clean = nil
	}
	return res
}

// readInto reads the file at path, of about size bytes, into buf.
func readInto(buf []byte, path string, size int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return buf[:0], err
	}
	defer f.Close()
	if int64(cap(buf)) < size+1 {
		buf = make([]byte, 0, size+1)
	}
	buf = buf[:0]
	for {
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
		if len(buf) == cap(buf) { // grew since listed
			buf = append(buf, 0)[:len(buf)]
		}
	}
}

// timeMacroFile returns a C-family file under dirs (recursively, links not
// followed) that names a time macro, "" when none does.
//
// It tells whether ccache's time_macros sloppiness is safe for a build:
// the dirs are the build's own (app, libs, core), the SDK is not among
// them. The real core and its libs name none (7 MB of sources in a
// server's context: 8.5 ms); ST's HAL names them as macro parameters, in
// the SDK.
func timeMacroFile(dirs []string) string { return scanTimeMacros(dirs, nil, nil).found }

// timeMacroFileOf is timeMacroFile but skip, reading again only the files
// that changed since the scan kept in c.ScanState (an unchanged build
// pays a walk and a stat per file), and keeping this one there when no
// file names a time macro.
func (c *Ccache) timeMacroFileOf(dirs, skip []string) string {
	prev := loadScanState(c.ScanState)
	res := scanTimeMacros(dirs, skip, prev)
	if c.ScanState != "" && res.found == "" && !sameSigs(prev, res) {
		saveScanState(c.ScanState, res)
	}
	return res.found
}

// scanState is the JSON of a clean scan: path -> [size, mtime, inode].
type scanState map[string][3]int64

func loadScanState(file string) *timeScan {
	if file == "" {
		return nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	var st scanState
	if json.Unmarshal(data, &st) != nil {
		return nil
	}
	res := &timeScan{clean: make(map[string]fileSig, len(st))}
	for p, v := range st {
		res.clean[p] = fileSig{v[0], v[1], uint64(v[2])}
	}
	return res
}

// saveScanState writes the scan; a failure only costs the next build a
// whole scan.
func saveScanState(file string, res *timeScan) {
	st := make(scanState, len(res.clean))
	for p, sig := range res.clean {
		st[p] = [3]int64{sig.size, sig.mtime, int64(sig.ino)}
	}
	data, err := json.Marshal(st)
	if err != nil {
		return
	}
	if os.MkdirAll(filepath.Dir(file), 0o755) == nil {
		_ = filetree.WriteFileAtomic(file, data, 0o644, false)
	}
}

func sameSigs(a, b *timeScan) bool {
	if a == nil || b == nil || len(a.clean) != len(b.clean) {
		return false
	}
	for p, sig := range b.clean {
		if a.clean[p] != sig {
			return false
		}
	}
	return true
}

// relOr is path relative to base when below it, else path.
func relOr(base, path string) string {
	if r, err := filepath.Rel(base, path); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return path
}
