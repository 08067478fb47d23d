// Package fwcompare tells whether two builds of the same sources gave the
// same firmware: what an incremental build in a reused context must give
// to be trusted, compared with a clean build.
//
// Two builds are never byte-equal: each names itself (build id, timestamp)
// and the paths it was built in (debug info, generated comments). So the
// comparison is of what runs and what is configured:
//   - the ELF's loaded sections, byte by byte, but for the strings the
//     build info pointers name and the linker's build-id note;
//   - fw.zip's manifest: the same parts, each of the same type and size,
//     with the same bytes (ELF parts as above; other parts, such as a
//     microcontroller's raw flash image, but for where they spell the
//     build's id or timestamp, or a build info string of build/objs/*.elf);
//   - the generated config (schema, defaults, conf0.json) and every file
//     of build/fs, byte by byte, but for the generator's command line.
package fwcompare

import (
	"archive/zip"
	"bytes"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Diff is one difference between two builds.
type Diff struct {
	File string // relative to the build dir, slash-separated
	What string
}

func (d Diff) String() string { return d.File + ": " + d.What }

// Report is what BuildDirs found.
type Report struct {
	Diffs []Diff
	// Compared counts the bytes compared (loaded ELF sections, parts and
	// files), so a caller can tell a real comparison from an empty one.
	Compared int64
}

// Equal reports whether no difference was found.
func (r *Report) Equal() bool { return len(r.Diffs) == 0 }

// First returns the first difference, or "" when there is none.
func (r *Report) First() string {
	if len(r.Diffs) == 0 {
		return ""
	}
	return r.Diffs[0].String()
}

func (r *Report) add(file, format string, a ...any) {
	r.Diffs = append(r.Diffs, Diff{File: file, What: fmt.Sprintf(format, a...)})
}

// genConfigFiles are the generated config files compared (under gen/).
var genConfigFiles = []string{"mgos_config_schema.json", "conf0.json", "mgos_config.c", "mgos_config.h"}

// BuildDirs compares the build dir got (a build/ as mos leaves it) with
// want. A file that is in neither is not an error; one in only one of them
// is a difference. The error is for what could not be read at all.
func BuildDirs(got, want string) (*Report, error) {
	r := &Report{}
	if err := r.fwZip(filepath.Join(got, "fw.zip"), filepath.Join(want, "fw.zip"), buildInfoStrings(got), buildInfoStrings(want)); err != nil {
		return r, err
	}
	for _, name := range genConfigFiles {
		if err := r.file("gen/"+name, filepath.Join(got, "gen", name), filepath.Join(want, "gen", name), dropCommandLine); err != nil {
			return r, err
		}
	}
	if err := r.tree("fs", filepath.Join(got, "fs"), filepath.Join(want, "fs")); err != nil {
		return r, err
	}
	return r, nil
}

// ELFs compares two ELF files' loaded sections (see the package comment).
func ELFs(got, want string) (*Report, error) {
	r := &Report{}
	g, err := os.ReadFile(got)
	if err != nil {
		return r, err
	}
	w, err := os.ReadFile(want)
	if err != nil {
		return r, err
	}
	return r, r.elf(filepath.Base(got), g, w)
}

// fwZip compares the manifests and parts of two fw.zip files.
// gotInfo and wantInfo are build info strings of each build beside the
// manifest's (see buildInfoStrings), masked in parts that are not ELF.
func (r *Report) fwZip(got, want string, gotInfo, wantInfo []string) error {
	gz, gerr := openZip(got)
	wz, werr := openZip(want)
	switch {
	case errors.Is(gerr, fs.ErrNotExist) && errors.Is(werr, fs.ErrNotExist):
		return nil
	case errors.Is(gerr, fs.ErrNotExist):
		r.add("fw.zip", "missing (the other build has one)")
		return nil
	case errors.Is(werr, fs.ErrNotExist):
		r.add("fw.zip", "present (the other build has none)")
		return nil
	case gerr != nil:
		return gerr
	case werr != nil:
		return werr
	}
	defer gz.Close()
	defer wz.Close()
	gm, err := readManifest(gz)
	if err != nil {
		return fmt.Errorf("%s: %w", got, err)
	}
	wm, err := readManifest(wz)
	if err != nil {
		return fmt.Errorf("%s: %w", want, err)
	}
	for _, k := range []string{"name", "platform", "version"} {
		if gm.fields[k] != wm.fields[k] {
			r.add("fw.zip", "manifest %s %v, want %v", k, gm.fields[k], wm.fields[k])
		}
	}
	names := map[string]bool{}
	for n := range gm.parts {
		names[n] = true
	}
	for n := range wm.parts {
		names[n] = true
	}
	for _, n := range sortedKeys(names) {
		gp, gok := gm.parts[n]
		wp, wok := wm.parts[n]
		where := "fw.zip: part " + n
		switch {
		case !gok:
			r.add(where, "missing")
			continue
		case !wok:
			r.add(where, "not in the other build")
			continue
		}
		if gp.Type != wp.Type || gp.Src != wp.Src || gp.Size != wp.Size {
			r.add(where, "type %q, src %q, %d bytes; want %q, %q, %d bytes", gp.Type, gp.Src, gp.Size, wp.Type, wp.Src, wp.Size)
			continue
		}
		if gp.Src == "" {
			continue
		}
		gd, err := readZipFile(gz, gm.dir+gp.Src)
		if err != nil {
			return fmt.Errorf("%s: part %s: %w", got, n, err)
		}
		wd, err := readZipFile(wz, wm.dir+wp.Src)
		if err != nil {
			return fmt.Errorf("%s: part %s: %w", want, n, err)
		}
		if isELF(gd) && isELF(wd) {
			if err := r.elf(where, gd, wd); err != nil {
				return err
			}
			continue
		}
		masks := append(occurrences(gd, append(gm.idStrings(), gotInfo...)...), occurrences(wd, append(wm.idStrings(), wantInfo...)...)...)
		r.bytes(where, gd, wd, masks)
	}
	return nil
}

type part struct {
	Type string `json:"type"`
	Src  string `json:"src"`
	Size int64  `json:"size"`
}

type manifest struct {
	dir    string // the zip's top dir, with its slash
	fields map[string]any
	parts  map[string]part
}

// idStrings are the manifest's strings that name the build itself.
func (m *manifest) idStrings() []string {
	var out []string
	for _, k := range []string{"build_id", "build_timestamp"} {
		if s, ok := m.fields[k].(string); ok && s != "" {
			out = append(out, s)
		}
	}
	return out
}

func readManifest(z *zip.ReadCloser) (*manifest, error) {
	for _, f := range z.File {
		if path.Base(f.Name) != "manifest.json" || strings.Count(f.Name, "/") > 1 {
			continue
		}
		b, err := readZipFile(z, f.Name)
		if err != nil {
			return nil, err
		}
		m := &manifest{dir: strings.TrimSuffix(f.Name, "manifest.json")}
		var raw struct {
			Parts map[string]part `json:"parts"`
		}
		if err := json.Unmarshal(b, &raw); err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		if err := json.Unmarshal(b, &m.fields); err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		m.parts = raw.Parts
		return m, nil
	}
	return nil, errors.New("no manifest.json")
}

func openZip(p string) (*zip.ReadCloser, error) {
	if _, err := os.Stat(p); err != nil {
		return nil, err
	}
	z, err := zip.OpenReader(p)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return z, nil
}

func readZipFile(z *zip.ReadCloser, name string) ([]byte, error) {
	f, err := z.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

func isELF(b []byte) bool { return bytes.HasPrefix(b, []byte(elf.ELFMAG)) }

// elf compares the loaded sections of two ELF images.
func (r *Report) elf(where string, gd, wd []byte) error {
	g, err := elf.NewFile(bytes.NewReader(gd))
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	w, err := elf.NewFile(bytes.NewReader(wd))
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	if g.Machine != w.Machine || g.Class != w.Class || g.Entry != w.Entry {
		r.add(where, "machine %v, class %v, entry %#x; want %v, %v, %#x", g.Machine, g.Class, g.Entry, w.Machine, w.Class, w.Entry)
	}
	masks := append(buildInfoRanges(g), buildInfoRanges(w)...)
	seen := map[string]bool{}
	for _, ws := range w.Sections {
		if !loaded(ws) {
			continue
		}
		seen[ws.Name] = true
		gs := g.Section(ws.Name)
		if gs == nil || !loaded(gs) {
			r.add(where, "section %s missing", ws.Name)
			continue
		}
		gb, err1 := gs.Data()
		wb, err2 := ws.Data()
		if err := errors.Join(err1, err2); err != nil {
			return fmt.Errorf("%s: section %s: %w", where, ws.Name, err)
		}
		if gs.Addr != ws.Addr || len(gb) != len(wb) {
			r.add(where, "section %s at %#x, %d bytes; want at %#x, %d bytes", ws.Name, gs.Addr, len(gb), ws.Addr, len(wb))
			continue
		}
		n, first := 0, uint64(0)
		for i := range wb {
			if gb[i] != wb[i] && !masked(masks, ws.Addr+uint64(i)) {
				if n == 0 {
					first = ws.Addr + uint64(i)
				}
				n++
			}
		}
		if n > 0 {
			r.add(where, "section %s: %d bytes differ, the first at %#x", ws.Name, n, first)
		}
		r.Compared += int64(len(wb))
	}
	for _, gs := range g.Sections {
		if loaded(gs) && !seen[gs.Name] {
			r.add(where, "section %s not in the other build", gs.Name)
		}
	}
	return nil
}

// loaded: a section with bytes in the image, but for the build-id note
// (the linker's hash of the whole file, debug info and its paths too).
func loaded(s *elf.Section) bool {
	return s.Flags&elf.SHF_ALLOC != 0 && s.Type != elf.SHT_NOBITS && s.Name != ".note.gnu.build-id"
}

type addrRange struct{ from, to uint64 }

func masked(rs []addrRange, a uint64) bool {
	for _, r := range rs {
		if a >= r.from && a < r.to {
			return true
		}
	}
	return false
}

// buildInfoRanges are the addresses of the strings that the
// *build_id, *build_timestamp and *build_version pointers name.
func buildInfoRanges(f *elf.File) []addrRange {
	syms, err := f.Symbols()
	if err != nil {
		return nil
	}
	ptrSize := 8
	if f.Class == elf.ELFCLASS32 {
		ptrSize = 4
	}
	var out []addrRange
	for _, s := range syms {
		if !strings.HasSuffix(s.Name, "build_id") && !strings.HasSuffix(s.Name, "build_timestamp") && !strings.HasSuffix(s.Name, "build_version") {
			continue
		}
		b, ok := readAt(f, s.Value, ptrSize)
		if !ok {
			continue
		}
		var p uint64
		if ptrSize == 4 {
			p = uint64(f.ByteOrder.Uint32(b))
		} else {
			p = f.ByteOrder.Uint64(b)
		}
		for n := uint64(0); n < 256; n++ {
			c, ok := readAt(f, p+n, 1)
			if !ok || c[0] == 0 {
				out = append(out, addrRange{p, p + n})
				break
			}
		}
	}
	return out
}

// buildInfoStrings are the build info strings of a build: those its ELF
// files in buildDir/objs point to (see buildInfoRanges), and the literals of
// its generated gen/*build_info.c (the core's mg_build_info.c is made at
// another time than build_info.c, and the linker may drop a pointer no code
// uses while its string stays). A raw flash image (stm32's app.bin) holds
// them, and the manifest names only the build id and timestamp, not the
// version string the core derives from the time (YYYYMMDDhhmm).
func buildInfoStrings(buildDir string) []string {
	var out []string
	gens, _ := filepath.Glob(filepath.Join(buildDir, "gen", "*build_info.c"))
	for _, p := range gens {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // nothing to mask from it
		}
		for _, m := range stringLiteral.FindAllSubmatch(b, -1) {
			if len(m[1]) >= 8 {
				out = append(out, string(m[1]))
			}
		}
	}
	elfs, _ := filepath.Glob(filepath.Join(buildDir, "objs", "*.elf"))
	for _, p := range elfs {
		f, err := elf.Open(p)
		if err != nil {
			continue // not an ELF: nothing to mask from it
		}
		for _, rg := range buildInfoRanges(f) {
			// Short strings ("1.0") would mask bytes by chance.
			if rg.to-rg.from < 8 {
				continue
			}
			if b, ok := readAt(f, rg.from, int(rg.to-rg.from)); ok {
				out = append(out, string(b))
			}
		}
		f.Close()
	}
	return out
}

// stringLiteral is a C string literal without escapes, as the core's
// build info generator writes them.
var stringLiteral = regexp.MustCompile(`= "([^"\\]*)";`)

func readAt(f *elf.File, addr uint64, n int) ([]byte, bool) {
	for _, s := range f.Sections {
		if s.Flags&elf.SHF_ALLOC == 0 || s.Type == elf.SHT_NOBITS || addr < s.Addr || addr+uint64(n) > s.Addr+s.Size {
			continue
		}
		b := make([]byte, n)
		if _, err := s.ReadAt(b, int64(addr-s.Addr)); err != nil {
			return nil, false
		}
		return b, true
	}
	return nil, false
}

// occurrences are the offsets (as ranges) of each string in b.
func occurrences(b []byte, strs ...string) []addrRange {
	var out []addrRange
	for _, s := range strs {
		for off := 0; ; {
			i := bytes.Index(b[off:], []byte(s))
			if i < 0 {
				break
			}
			out = append(out, addrRange{uint64(off + i), uint64(off + i + len(s))})
			off += i + len(s)
		}
	}
	return out
}

func (r *Report) bytes(where string, g, w []byte, masks []addrRange) {
	if len(g) != len(w) {
		r.add(where, "%d bytes, want %d", len(g), len(w))
		return
	}
	n, first := 0, 0
	for i := range w {
		if g[i] != w[i] && !masked(masks, uint64(i)) {
			if n == 0 {
				first = i
			}
			n++
		}
	}
	if n > 0 {
		r.add(where, "%d bytes differ, the first at offset %d", n, first)
	}
	r.Compared += int64(len(w))
}

// dropCommandLine removes the generator's " * Command: ..." comment line,
// which names the paths the build ran in.
func dropCommandLine(b []byte) []byte {
	lines := bytes.SplitAfter(b, []byte("\n"))
	out := lines[:0]
	for _, l := range lines {
		if bytes.HasPrefix(bytes.TrimSpace(l), []byte("* Command:")) {
			continue
		}
		out = append(out, l)
	}
	return bytes.Join(out, nil)
}

// file compares one file of both builds (after norm, if set).
func (r *Report) file(rel, got, want string, norm func([]byte) []byte) error {
	g, gerr := os.ReadFile(got)
	w, werr := os.ReadFile(want)
	switch {
	case errors.Is(gerr, fs.ErrNotExist) && errors.Is(werr, fs.ErrNotExist):
		return nil
	case errors.Is(gerr, fs.ErrNotExist):
		r.add(rel, "missing")
		return nil
	case errors.Is(werr, fs.ErrNotExist):
		r.add(rel, "not in the other build")
		return nil
	case gerr != nil:
		return gerr
	case werr != nil:
		return werr
	}
	if norm != nil {
		g, w = norm(g), norm(w)
	}
	r.bytes(rel, g, w, nil)
	return nil
}

// tree compares every regular file under two dirs.
func (r *Report) tree(rel, got, want string) error {
	gl, err := listFiles(got)
	if err != nil {
		return err
	}
	wl, err := listFiles(want)
	if err != nil {
		return err
	}
	all := map[string]bool{}
	for p := range gl {
		all[p] = true
	}
	for p := range wl {
		all[p] = true
	}
	for _, p := range sortedKeys(all) {
		if err := r.file(rel+"/"+p, filepath.Join(got, filepath.FromSlash(p)), filepath.Join(want, filepath.FromSlash(p)), nil); err != nil {
			return err
		}
	}
	return nil
}

func listFiles(dir string) (map[string]bool, error) {
	out := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == dir {
			return filepath.SkipDir
		}
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			out[filepath.ToSlash(rel)] = true
		}
		return nil
	})
	return out, err
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
