package runner

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// timeMacros are the macros whose expansion changes with the time of the
// compile.
var timeMacros = [][]byte{[]byte("__TIME__"), []byte("__DATE__"), []byte("__TIMESTAMP__")}

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
	seen := map[string]bool{}
	for _, dir := range dirs {
		if dir == "" {
			continue
		}
		var found string
		_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			switch {
			case err != nil:
				return nil
			case d.IsDir():
				if d.Name() == ".git" || seen[path] {
					return filepath.SkipDir
				}
				seen[path] = true
				return nil
			case !d.Type().IsRegular() || !cFamily[filepath.Ext(path)]:
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return nil
			}
			for _, m := range timeMacros {
				if bytes.Contains(data, m) {
					found = path
					return filepath.SkipAll
				}
			}
			return nil
		})
		if found != "" {
			return found
		}
	}
	return ""
}

// relOr is path relative to base when below it, else path.
func relOr(base, path string) string {
	if r, err := filepath.Rel(base, path); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return path
}
