package remote

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"syscall"
)

// pathSyntax is the path syntax of one OS, applied lexically, so the rules
// that turn manifest entries and disk paths into zip names can be tested
// with Windows paths on any host. The host's own syntax is hostSyntax
// (paths_unix.go, paths_windows.go), which agrees with path/filepath.
type pathSyntax struct {
	windows bool
}

// sep is the separator the OS writes.
func (ps pathSyntax) sep() string {
	if ps.windows {
		return `\`
	}
	return "/"
}

func (ps pathSyntax) isSep(c byte) bool { return c == '/' || (ps.windows && c == '\\') }

// volumeLen is the length of p's volume name: "C:" or `\\host\share` on
// Windows, nothing elsewhere.
func (ps pathSyntax) volumeLen(p string) int {
	if !ps.windows {
		return 0
	}
	if len(p) >= 2 && p[1] == ':' && isLetter(p[0]) {
		return 2
	}
	// UNC: two separators, a host, a separator, a share.
	if len(p) >= 5 && ps.isSep(p[0]) && ps.isSep(p[1]) && !ps.isSep(p[2]) && p[2] != '.' && p[2] != '?' {
		n := 3
		for n < len(p) && !ps.isSep(p[n]) {
			n++
		}
		if n+1 < len(p) && !ps.isSep(p[n+1]) {
			n++
			for n < len(p) && !ps.isSep(p[n]) {
				n++
			}
			return n
		}
	}
	return 0
}

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// isAbs is filepath.IsAbs under these rules.
func (ps pathSyntax) isAbs(p string) bool {
	v := ps.volumeLen(p)
	if !ps.windows {
		return strings.HasPrefix(p, "/")
	}
	if v == 0 {
		return false
	}
	if v > 2 { // UNC
		return true
	}
	return len(p) > v && ps.isSep(p[v])
}

// split returns p's volume, whether a separator follows it (rooted), and
// its components without empty and "." ones (".." kept).
func (ps pathSyntax) split(p string) (vol string, rooted bool, parts []string) {
	v := ps.volumeLen(p)
	vol, rest := p[:v], p[v:]
	rooted = len(rest) > 0 && ps.isSep(rest[0])
	start := 0
	for i := 0; i <= len(rest); i++ {
		if i == len(rest) || ps.isSep(rest[i]) {
			if c := rest[start:i]; c != "" && c != "." {
				parts = append(parts, c)
			}
			start = i + 1
		}
	}
	return vol, rooted, parts
}

// absPath is a cleaned absolute path: a volume ("" on Unix) and
// components with no ".", ".." or empty ones.
type absPath struct {
	vol   string
	parts []string
}

// resolve makes p absolute against base (absolute) and cleans it, as
// filepath.Join(base, p) then Clean would (an absolute p ignores base; a
// Windows `\x` keeps base's volume). ".." never climbs above the root.
func (ps pathSyntax) resolve(base, p string) absPath {
	var out absPath
	var parts []string
	if ps.isAbs(p) {
		out.vol, _, parts = ps.split(p)
	} else {
		bvol, _, bparts := ps.split(base)
		vol, rooted, pparts := ps.split(p)
		out.vol = bvol
		switch {
		case rooted && vol == "": // `\x` on Windows: base's drive
			parts = pparts
		case vol != "" && !strings.EqualFold(vol, bvol): // `D:x`: another drive's current dir, taken as its root
			out.vol, parts = vol, pparts
		default:
			parts = append(append([]string{}, bparts...), pparts...)
		}
	}
	for _, c := range parts {
		if c == ".." {
			if len(out.parts) > 0 {
				out.parts = out.parts[:len(out.parts)-1]
			}
			continue
		}
		out.parts = append(out.parts, c)
	}
	return out
}

func (ps pathSyntax) same(a, b string) bool {
	if ps.windows {
		return strings.EqualFold(a, b)
	}
	return a == b
}

// relInside returns target's components below base when target is base or
// inside it.
func (ps pathSyntax) relInside(base, target absPath) ([]string, bool) {
	if !ps.same(base.vol, target.vol) || len(target.parts) < len(base.parts) {
		return nil, false
	}
	for i, c := range base.parts {
		if !ps.same(c, target.parts[i]) {
			return nil, false
		}
	}
	return target.parts[len(base.parts):], true
}

// join writes p with this syntax's separator.
func (ps pathSyntax) join(p absPath) string {
	return p.vol + ps.sep() + strings.Join(p.parts, ps.sep())
}

// flatName is the top-level upload name of an out-of-tree dir, as stock
// names it: the absolute path with every separator replaced by "_"
// (/home/u/shared/src -> _home_u_shared_src). dirOfGlob adds the trailing
// separator stock keeps when the entry's last element was split off as a
// glob (/home/u/shared/*.c -> _home_u_shared_). Unlike stock, a drive
// colon becomes "_" too (C:\work\src -> C__work_src), because a colon
// after the first letter reads as a drive in a zip entry name.
func flatName(p absPath, dirOfGlob bool) string {
	s := p.vol + "/" + strings.Join(p.parts, "/")
	if dirOfGlob && len(p.parts) > 0 {
		s += "/"
	}
	return strings.NewReplacer("/", "_", `\`, "_", ":", "_").Replace(s)
}

// slashJoin joins components into a zip name or manifest location.
func slashJoin(parts ...string) string {
	var nonEmpty []string
	for _, p := range parts {
		if p != "" {
			nonEmpty = append(nonEmpty, p)
		}
	}
	return strings.Join(nonEmpty, "/")
}

// hasGlob says a path component is a pattern.
func hasGlob(c string) bool { return strings.ContainsAny(c, `*?[`) }

// diskFS is what canonical paths are read from: stat tells whether a path
// is a dir (an error wrapping fs.ErrNotExist when missing), readDir lists
// a dir's names. Planning takes them as functions so that Windows paths
// can be tested anywhere.
type diskFS struct {
	stat    func(path string) (isDir bool, err error)
	readDir func(path string) ([]string, error)
}

// onDisk returns rel (components below base) as the disk spells them:
// a component the dir lists as is stays; one the dir lists only in other
// letter case takes the disk's case when the file system resolves the
// typed name too (it ignores case: Windows, macOS). found is false when a
// component does not exist (the rest is returned as typed); a pattern
// component ends the walk (found then says whether it matches an entry).
// A name that matches several entries in other case is an error.
func (ps pathSyntax) onDisk(base absPath, rel []string, fsys diskFS) (canon []string, found bool, err error) {
	cur := absPath{vol: base.vol, parts: append([]string{}, base.parts...)}
	for i, c := range rel {
		names, err := fsys.readDir(ps.join(cur))
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return append(canon, rel[i:]...), false, nil
		}
		if err != nil {
			return nil, false, err
		}
		if hasGlob(c) {
			matched := false
			if i == len(rel)-1 {
				for _, n := range names {
					if ok, _ := path.Match(c, n); ok {
						matched = true
						break
					}
				}
			} else {
				matched = true // not checked further
			}
			return append(canon, rel[i:]...), matched, nil
		}
		name := ""
		var others []string
		for _, n := range names {
			if n == c {
				name = n
				break
			}
			if strings.EqualFold(n, c) {
				others = append(others, n)
			}
		}
		if name == "" {
			typed := absPath{vol: cur.vol, parts: append(append([]string{}, cur.parts...), c)}
			if _, err := fsys.stat(ps.join(typed)); len(others) == 0 || err != nil {
				// Not there, or there only in other case on a file
				// system that minds case.
				return append(canon, rel[i:]...), false, nil
			}
			if len(others) > 1 {
				return nil, false, fmt.Errorf("%q matches %s on disk, which differ only in case; write one of them exactly", c, strings.Join(others, " and "))
			}
			name = others[0]
		}
		canon = append(canon, name)
		cur.parts = append(cur.parts, name)
	}
	return canon, true, nil
}

// canonical is dir as the disk spells it (see onDisk), with an upper-case
// drive letter, written with this syntax's separator: one spelling for
// one dir, whatever the user typed (`c:\…\HELLO` or `C:\…\hello`).
func (ps pathSyntax) canonical(dir string, fsys diskFS) string {
	p := ps.resolve(dir, ".")
	if len(p.vol) == 2 && p.vol[1] == ':' {
		p.vol = strings.ToUpper(p.vol)
	}
	if canon, found, err := ps.onDisk(absPath{vol: p.vol}, p.parts, fsys); err == nil && found {
		p.parts = canon
	}
	return ps.join(p)
}
