package remote

import (
	"path"
	"strings"
)

// whitelist says which parts of the app dir are uploaded: stock's rule of
// whitelisted top-level names (mos.yml, deps, local_libs, the first
// component of each in-tree sources/includes/filesystem/binary_libs/
// extra_files entry), plus whole sub-paths (in-tree local libs at any
// depth, which stock drops unless their top-level dir is listed).
type whitelist struct {
	paths map[string]bool // slash paths; everything at or below is uploaded
	globs []string        // top-level name patterns (an entry like "*.c")
	// rootFiles: an entry names the app dir itself ("." or "*.c" style
	// entries of sources), so its top-level files are uploaded.
	rootFiles bool
}

func newWhitelist() *whitelist { return &whitelist{paths: map[string]bool{}} }

// addPath whitelists a slash path and everything below it.
func (w *whitelist) addPath(p string) {
	if p != "" {
		w.paths[p] = true
	}
}

// addFirst whitelists the first of an in-tree entry's components (a
// pattern if it has glob characters); no components means the app dir
// itself.
func (w *whitelist) addFirst(parts []string) {
	if len(parts) == 0 {
		w.rootFiles = true
		return
	}
	first := parts[0]
	if strings.ContainsAny(first, `*?[`) {
		if _, err := path.Match(first, ""); err == nil {
			w.globs = append(w.globs, first)
			return
		}
	}
	w.paths[first] = true
}

// covers reports whether the app's file or dir at slash path rel is
// uploaded with everything below it.
func (w *whitelist) covers(rel string, isDir bool) bool {
	for p := rel; ; {
		if w.paths[p] {
			return true
		}
		i := strings.LastIndexByte(p, '/')
		if i < 0 {
			break
		}
		p = p[:i]
	}
	top, _, nested := strings.Cut(rel, "/")
	for _, g := range w.globs {
		if ok, _ := path.Match(g, top); ok {
			return true
		}
	}
	return !nested && !isDir && w.rootFiles
}

// leadsTo reports whether some whitelisted path lies below dir rel, so the
// walk must enter it.
func (w *whitelist) leadsTo(rel string) bool {
	for p := range w.paths {
		if strings.HasPrefix(p, rel+"/") {
			return true
		}
	}
	return false
}
