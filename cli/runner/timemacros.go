package runner

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
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

// timeMacroFile returns a C-family file under dirs (recursively, links not
// followed) that names a time macro, "" when none does. Missing dirs and
// unreadable files are skipped: they are not the build's.
//
// It tells whether ccache's time_macros sloppiness is safe for a build:
// the dirs are the build's own (app, libs, core), the SDK is not among
// them. The real core and its libs name none (about 15 MB, read in tens of
// milliseconds); ST's HAL names them as macro parameters, in the SDK.
func timeMacroFile(dirs []string) string {
	var paths []string
	seen := map[string]bool{}
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
				paths = append(paths, path)
			}
			return nil
		})
	}
	// Read on every core: most of the time is the reads' system calls.
	var (
		mu    sync.Mutex
		found string
		next  atomic.Int64
		wg    sync.WaitGroup
	)
	for w := min(runtime.GOMAXPROCS(0), 4); w > 0; w-- {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(paths) {
					return
				}
				data, err := os.ReadFile(paths[i])
				if err != nil || !namesTimeMacro(data) {
					continue
				}
				mu.Lock()
				if found == "" || paths[i] < found {
					found = paths[i]
				}
				mu.Unlock()
				next.Store(int64(len(paths))) // enough: stop the others
				return
			}
		}()
	}
	wg.Wait()
	return found
}

// relOr is path relative to base when below it, else path.
func relOr(base, path string) string {
	if r, err := filepath.Rel(base, path); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return path
}
