// Command dist writes the release archives of mos and fwbuild-manager:
//
//	go run ./scripts/dist -version V -ldflags FLAGS -epoch SECONDS -out dist
//
// writes, for version V, mos-V-{linux,darwin}-{amd64,arm64}.tar.gz,
// mos-V-windows-amd64.zip (mos.exe), fwbuild-manager-V-linux-amd64.tar.gz
// (the server and the mos it runs builds with) and SHA256SUMS. `make dist`
// runs it with the Makefile's version flags.
//
// The same inputs give the same bytes: binaries are built with -trimpath,
// -buildvcs=false, CGO off and the given -ldflags only (the build id's time
// comes from the commit, not the clock); archive entries come in a fixed
// order with the time -epoch, owner root and modes 0755/0644 whatever the
// files on disk say; gzip and zip headers carry no name or clock time.
package main

import (
	"archive/tar"
	"archive/zip"
	"compress/flate"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// target is one archive: the programs built for one platform.
type target struct {
	product    string   // archive name prefix: mos or fwbuild-manager
	goos, arch string   // platform
	programs   []string // import paths of the binaries in the archive
}

// targets are every archive of a release, in the order they are built.
var targets = []target{
	{"mos", "linux", "amd64", []string{"./cli"}},
	{"mos", "linux", "arm64", []string{"./cli"}},
	{"mos", "darwin", "amd64", []string{"./cli"}},
	{"mos", "darwin", "arm64", []string{"./cli"}},
	{"mos", "windows", "amd64", []string{"./cli"}},
	{"fwbuild-manager", "linux", "amd64", []string{"./fwbuild/manager", "./cli"}},
}

// binaryNames maps a program's import path to its file name.
var binaryNames = map[string]string{"./cli": "mos", "./fwbuild/manager": "fwbuild-manager"}

// docs go into every archive, beside the binaries.
var docs = []string{"LICENSE", "README.md"}

func (t target) name(version string) string {
	return fmt.Sprintf("%s-%s-%s-%s", t.product, version, t.goos, t.arch)
}

func (t target) archiveName(version string) string {
	if t.goos == "windows" {
		return t.name(version) + ".zip"
	}
	return t.name(version) + ".tar.gz"
}

// options are what one run needs.
type options struct {
	version string // release version, in every archive name
	ldflags string // passed to go build as is
	epoch   time.Time
	out     string   // output dir
	src     string   // module root
	only    []string // archive names to make ("" = all), for tests
	gocache string   // GOCACHE of the builds ("" = the caller's)
}

func main() {
	var o options
	var epoch int64
	var only string
	flag.StringVar(&o.version, "version", "", "release version (required)")
	flag.StringVar(&o.ldflags, "ldflags", "", "-ldflags for go build")
	flag.Int64Var(&epoch, "epoch", -1, "time of every archive entry, in seconds since 1970 (required; the commit time)")
	flag.StringVar(&o.out, "out", "dist", "directory to write the archives and SHA256SUMS into")
	flag.StringVar(&only, "only", "", "comma-separated platforms to build (e.g. linux-amd64,windows-amd64); default all")
	flag.Parse()
	if o.version == "" || epoch < 0 || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: dist -version V -epoch SECONDS [-ldflags FLAGS] [-out DIR] [-only PLATFORMS]")
		os.Exit(2)
	}
	o.epoch = time.Unix(epoch, 0).UTC()
	if only != "" {
		o.only = strings.Split(only, ",")
	}
	var err error
	if o.src, err = os.Getwd(); err != nil {
		fmt.Fprintln(os.Stderr, "dist:", err)
		os.Exit(1)
	}
	files, err := run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dist:", err)
		os.Exit(1)
	}
	for _, f := range files {
		fmt.Println(filepath.Join(o.out, f))
	}
}

// run builds the selected targets into o.out and returns the names of the
// files written there (archives, then SHA256SUMS).
func run(o options) ([]string, error) {
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "mos-dist-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	var written []string
	// One build per program and platform: the mos in the server's archive
	// is the very file of mos's archive.
	built := map[string]string{}
	for _, t := range targets {
		if !selected(o.only, t.goos+"-"+t.arch) {
			continue
		}
		var entries []entry
		for _, pkg := range t.programs {
			bin := binaryNames[pkg]
			if t.goos == "windows" {
				bin += ".exe"
			}
			key := pkg + " " + t.goos + "/" + t.arch
			dst, ok := built[key]
			if !ok {
				dst = filepath.Join(work, t.goos+"-"+t.arch, bin)
				if err := build(o, t, pkg, dst); err != nil {
					return nil, err
				}
				built[key] = dst
			}
			entries = append(entries, entry{name: bin, src: dst, mode: 0o755})
		}
		for _, d := range docs {
			entries = append(entries, entry{name: d, src: filepath.Join(o.src, d), mode: 0o644})
		}
		name := t.archiveName(o.version)
		if err := writeArchive(filepath.Join(o.out, name), t.name(o.version), entries, o.epoch); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		written = append(written, name)
	}
	if len(written) == 0 {
		return nil, fmt.Errorf("-only %s matches no platform", strings.Join(o.only, ","))
	}
	if err := writeSums(o.out, written); err != nil {
		return nil, err
	}
	return append(written, "SHA256SUMS"), nil
}

func selected(only []string, platform string) bool {
	if len(only) == 0 {
		return true
	}
	for _, p := range only {
		if p == platform {
			return true
		}
	}
	return false
}

// build compiles pkg for t into dst with nothing from this machine in the
// result but the toolchain.
func build(o options, t target, pkg, dst string) error {
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags", o.ldflags, "-o", dst, pkg)
	cmd.Dir = o.src
	cmd.Env = append(os.Environ(), "GOOS="+t.goos, "GOARCH="+t.arch, "CGO_ENABLED=0",
		// The caller's GOFLAGS (say -buildmode=pie) would change the bytes.
		"GOFLAGS=-mod=readonly")
	if o.gocache != "" {
		cmd.Env = append(cmd.Env, "GOCACHE="+o.gocache)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s for %s/%s: %w\n%s", pkg, t.goos, t.arch, err, out)
	}
	return nil
}

// entry is one file of an archive.
type entry struct {
	name string      // path inside the archive's top dir, with /
	src  string      // file to read
	mode os.FileMode // 0755 or 0644: what the archive says, not the disk
}

// writeArchive writes a .zip or .tar.gz (by path's suffix) holding dir/
// and the entries below it in name order, every time set to epoch.
func writeArchive(path, dir string, entries []entry, epoch time.Time) error {
	sorted := append([]entry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if strings.HasSuffix(path, ".zip") {
		err = writeZip(f, dir, sorted, epoch)
	} else {
		err = writeTarGz(f, dir, sorted, epoch)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

func writeTarGz(w io.Writer, dir string, entries []entry, epoch time.Time) error {
	// No name, no time, OS "unknown": Go's gzip header is the same always.
	gz, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(gz)
	hdr := func(name string, mode int64, size int64, typ byte) *tar.Header {
		return &tar.Header{Name: name, Mode: mode, Size: size, Typeflag: typ, ModTime: epoch,
			Uname: "root", Gname: "root", Format: tar.FormatUSTAR}
	}
	if err := tw.WriteHeader(hdr(dir+"/", 0o755, 0, tar.TypeDir)); err != nil {
		return err
	}
	for _, e := range entries {
		data, err := os.ReadFile(e.src)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(hdr(path.Join(dir, e.name), int64(e.mode), int64(len(data)), tar.TypeReg)); err != nil {
			return fmt.Errorf("%s: %w", e.name, err)
		}
		if _, err := tw.Write(data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func writeZip(w io.Writer, dir string, entries []entry, epoch time.Time) error {
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestCompression)
	})
	d := &zip.FileHeader{Name: dir + "/", Modified: epoch}
	d.SetMode(os.ModeDir | 0o755)
	if _, err := zw.CreateHeader(d); err != nil {
		return err
	}
	for _, e := range entries {
		data, err := os.ReadFile(e.src)
		if err != nil {
			return err
		}
		h := &zip.FileHeader{Name: path.Join(dir, e.name), Method: zip.Deflate, Modified: epoch}
		h.SetMode(e.mode)
		fw, err := zw.CreateHeader(h)
		if err != nil {
			return fmt.Errorf("%s: %w", e.name, err)
		}
		if _, err := fw.Write(data); err != nil {
			return err
		}
	}
	return zw.Close()
}

// writeSums writes dir/SHA256SUMS for files, in sha256sum's format, so
// `sha256sum -c SHA256SUMS` checks a download.
func writeSums(dir string, files []string) error {
	names := append([]string(nil), files...)
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		fmt.Fprintf(&b, "%s  %s\n", hex.EncodeToString(sum[:]), n)
	}
	return os.WriteFile(filepath.Join(dir, "SHA256SUMS"), []byte(b.String()), 0o644)
}
