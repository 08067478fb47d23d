package manifest

import (
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v2"

	"github.com/mongoose-os/mos/cli/location"
	"github.com/mongoose-os/mos/cli/manifest/expr"
)

// Accepted manifest_version range (dates compared as strings).
const (
	OldestManifestVersion = "2017-03-17"
	NewestManifestVersion = "2020-08-02"
)

// Names of the files a component dir holds.
const (
	FileName = "mos.yml"
)

// rootOrigin names the built-in root manifest in messages.
const rootOrigin = "asset://data/root_manifest.yml"

//go:embed root_manifest.yml
var rootManifestYAML []byte

// Types of manifests.
const (
	TypeApp = "app"
	TypeLib = "lib"
)

// Sentinel errors callers can test with errors.Is.
var (
	// ErrManifestVersion: manifest_version missing, too old or too new.
	ErrManifestVersion = errors.New("unsupported manifest_version")
	// ErrNoPlatform: no --platform and no platform in mos.yml.
	ErrNoPlatform = errors.New("--platform must be specified or mos.yml should contain a platform key")
	// ErrNoLocation: a lib or module entry without location.
	ErrNoLocation = errors.New("location is not set")
)

// ManifestError is an `error:` met in a manifest or in a true cond: the
// build is refused on purpose.
type ManifestError struct {
	Origin string // where it was written ("" for a cond's own error:)
	Text   string
}

func (e *ManifestError) Error() string {
	if e.Origin == "" {
		return e.Text
	}
	return e.Origin + ": " + e.Text
}

// versionError is ErrManifestVersion with upstream's wording.
type versionError struct{ msg string }

func (e *versionError) Error() string        { return e.msg }
func (e *versionError) Is(target error) bool { return target == ErrManifestVersion }

// reader reads manifest files. Relative paths are taken against cwd, but
// origins (what messages show) keep the form they were given in.
type reader struct {
	cwd    string
	warn   func(string)
	warned map[string]bool
	// confine, when set, refuses paths of manifest files that lead
	// outside the build context.
	confine *Confinement
}

func newReader(cwd string, warn func(string)) *reader {
	return &reader{cwd: cwd, warn: warn, warned: map[string]bool{}}
}

// onDisk is the path of p for the file system.
func (r *reader) onDisk(p string) string {
	if filepath.IsAbs(p) || r.cwd == "" {
		return p
	}
	return filepath.Join(r.cwd, p)
}

// warnf reports a notice once per resolution (upstream repeats them at
// every merge the manifest takes part in).
func (r *reader) warnf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if r.warn == nil || r.warned[msg] {
		return
	}
	r.warned[msg] = true
	r.warn(msg)
}

// checkMessages fails on a manifest's `error:` and reports its `warning:`.
func (r *reader) checkMessages(m *Manifest) error {
	if m.Error != "" {
		return &ManifestError{Origin: m.Origin, Text: m.Error}
	}
	if m.Warning != "" {
		r.warnf("Warning: %s: %s", m.Origin, m.Warning)
	}
	return nil
}

// readFile reads one manifest file (origin is its path as given, or
// rootOrigin) and applies the per-file defaults. vars expand the version
// fields; requireVersion says whether manifest_version is mandatory.
func (r *reader) readFile(origin string, vars *expr.Vars, requireVersion bool) (*Manifest, time.Time, error) {
	var data []byte
	var mtime time.Time
	if origin == rootOrigin {
		data = rootManifestYAML
	} else {
		file := r.onDisk(origin)
		var err error
		if data, err = os.ReadFile(file); err != nil {
			return nil, time.Time{}, fmt.Errorf("reading manifest %q: %w", origin, err)
		}
		fi, err := os.Stat(file)
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("reading manifest %q: %w", origin, err)
		}
		mtime = fi.ModTime()
	}
	m := &Manifest{}
	if err := yaml.Unmarshal(data, m); err != nil {
		return nil, time.Time{}, fmt.Errorf("parsing manifest %q: %w", origin, err)
	}
	m.Origin = origin
	if origin != rootOrigin {
		for _, w := range unknownKeys(origin, data) {
			r.warnf("Warning: %s", w)
		}
	}

	switch v := m.ManifestVersion; {
	case v == "" && requireVersion:
		return nil, time.Time{}, &versionError{fmt.Sprintf("manifest version is missing in %q", origin)}
	case v == "":
	case v < OldestManifestVersion:
		return nil, time.Time{}, &versionError{fmt.Sprintf(
			"too old manifest_version %q in %q (oldest supported is %q)", v, origin, OldestManifestVersion)}
	case v > NewestManifestVersion:
		return nil, time.Time{}, &versionError{fmt.Sprintf(
			"too new manifest_version %q in %q (latest supported is %q). Please run \"mos update\".",
			v, origin, NewestManifestVersion)}
	}

	if err := r.checkMessages(m); err != nil {
		return nil, time.Time{}, err
	}
	for i := range m.Modules {
		if err := normalizeDep(&m.Modules[i]); err != nil {
			return nil, time.Time{}, fmt.Errorf("%s: modules[%d]: %w", origin, i, err)
		}
	}
	if m.BuildVars == nil {
		m.BuildVars = map[string]string{}
	}
	if m.CDefs == nil {
		m.CDefs = map[string]string{}
	}
	if m.Platform == "" {
		m.Platform = m.Arch
	}
	for _, f := range []struct {
		key string
		v   *string
	}{
		{"mongoose_os_version", &m.MongooseOSVersion},
		{"libs_version", &m.LibsVersion},
		{"modules_version", &m.ModulesVersion},
	} {
		if *f.v == "" {
			*f.v = "${" + expr.MosVersion + "}"
		}
		e, err := expr.Expand(vars, *f.v, expr.Strict)
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("%s: %s: %w", origin, f.key, err)
		}
		*f.v = e
	}
	if origin != rootOrigin {
		if err := r.confine.checkManifest(m, filepath.Dir(r.onDisk(origin)), r.locBase(), ""); err != nil {
			return nil, time.Time{}, err
		}
	}
	return m, mtime, nil
}

// locBase is the dir local lib and module locations are relative to.
func (r *reader) locBase() string {
	if r.cwd != "" {
		return r.cwd
	}
	wd, _ := os.Getwd()
	return wd
}

// readComponent reads the component in dir: mos.yml, the platform's
// mos_<platform>.yml merged over it, then the CLI build vars. platform
// (when non-empty) replaces the manifest's own.
func (r *reader) readComponent(dir, platform string, buildVars map[string]string, vars *expr.Vars) (*Manifest, time.Time, error) {
	vars = vars.Clone()
	m, mtime, err := r.readFile(filepath.Join(dir, FileName), vars, true)
	if err != nil {
		return nil, time.Time{}, err
	}
	if platform != "" {
		m.Platform = platform
	}
	m.Platform = strings.ToLower(m.Platform)
	vars.Set(expr.MosPlatform, m.Platform)
	if m.Type == "" {
		m.Type = TypeApp
	}

	if m.Platform != "" {
		subOrigin := filepath.Join(dir, "mos_"+m.Platform+".yml")
		_, err := os.Stat(r.onDisk(subOrigin))
		switch {
		case err == nil:
			sub, subTime, err := r.readFile(subOrigin, vars, false)
			if err != nil {
				return nil, time.Time{}, err
			}
			if subTime.After(mtime) {
				mtime = subTime
			}
			if err := r.merge(m, m, sub, "", "", vars, mergeOpts{mode: expr.Keep, initDeps: true}); err != nil {
				return nil, time.Time{}, fmt.Errorf("%s: %w", subOrigin, err)
			}
		case !errors.Is(err, fs.ErrNotExist):
			return nil, time.Time{}, fmt.Errorf("reading manifest %q: %w", subOrigin, err)
		}
	}

	if m.Platforms == nil {
		m.Platforms = []string{}
	}
	cli := &Manifest{BuildVars: buildVars, Origin: "command line"}
	if err := r.merge(m, m, cli, "", "", vars, mergeOpts{mode: expr.Keep}); err != nil {
		return nil, time.Time{}, fmt.Errorf("%s: applying build vars: %w", m.Origin, err)
	}
	return m, mtime, nil
}

// normalizeDep moves a deprecated origin into location and fills in the
// name derived from the location.
func normalizeDep(d *Dep) error {
	if d.Location == "" {
		d.Location = d.Origin
	}
	if d.Location == "" {
		return ErrNoLocation
	}
	d.Origin = ""
	if d.Name == "" {
		n, err := location.LibName("", d.Type, d.Location)
		if err != nil {
			return err
		}
		d.Name = n
	}
	return nil
}
