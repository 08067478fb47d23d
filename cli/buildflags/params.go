// Package buildflags holds the flags that say what a build is (platform,
// build vars, lib locations, update interval, credentials ...), shared by
// `mos build` and `mos eval-manifest-expr`, and turns them into the build's
// parameters as upstream does.
package buildflags

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v2"

	"github.com/mongoose-os/mos/common/protocol"
)

// DefaultTarget is the make target of a firmware build.
const DefaultTarget = "all"

// Flags are the flags describing a build; Register binds them.
type Flags struct {
	Platform, Arch     string
	Board              string
	BuildVars, CDefs   []string
	CFlagsExtra        []string
	CXXFlagsExtra      []string
	Libs, Modules      []string
	Repo               string
	LibsExtra          []string
	LibsDirs           []string
	DepsDir            string
	ModulesDir         string
	LibsUpdateInterval time.Duration
	NoLibsUpdate       bool
	PreferPrebuiltLibs bool
	Clean              bool
	DryRun             bool
	BuildTarget        string
	NoPlatformCheck    bool
	SaveBuildStat      bool
	BuildParamsFile    string
	DepsVersionsFile   string
	StrictDepsVersions bool
	Credentials        string
	GHToken            string
	Verbose            bool // from the global --verbose
}

// Register binds the flags to fs with upstream's names and defaults.
func (o *Flags) Register(fl *pflag.FlagSet) {
	fl.StringVar(&o.Platform, "platform", "", "hardware platform (overrides mos.yml)")
	fl.StringVar(&o.Arch, "arch", "", "deprecated, use --platform")
	fl.StringVar(&o.Board, "board", "", "board name (build var BOARD)")
	fl.StringSliceVar(&o.BuildVars, "build-var", nil, "build variable NAME=VALUE; repeatable, comma-separated")
	fl.StringSliceVar(&o.CDefs, "cdef", nil, "C/C++ define NAME=VALUE; repeatable, comma-separated")
	fl.StringArrayVar(&o.CFlagsExtra, "cflags-extra", nil, "extra C flag appended to the manifest's cflags; repeatable")
	fl.StringArrayVar(&o.CXXFlagsExtra, "cxxflags-extra", nil, "extra C++ flag appended to the manifest's cxxflags; repeatable")
	fl.StringArrayVar(&o.Libs, "lib", nil, "location of a lib, NAME:PATH_OR_URL; repeatable")
	fl.StringArrayVar(&o.Modules, "module", nil, "location of a module, NAME:PATH_OR_URL; repeatable")
	fl.StringVar(&o.Repo, "repo", "", "path to the mongoose-os repository (the mongoose-os module)")
	fl.StringArrayVar(&o.LibsExtra, "lib-extra", nil, "extra lib for the app, as a YAML lib entry; repeatable")
	fl.StringSliceVar(&o.LibsDirs, "libs-dir", nil, "directory to find libs in; repeatable")
	fl.StringVar(&o.DepsDir, "deps-dir", "", "directory to fetch libs and modules into (default <app>/deps)")
	fl.StringVar(&o.ModulesDir, "modules-dir", "", "directory to fetch modules into (default <deps>/modules)")
	fl.DurationVar(&o.LibsUpdateInterval, "libs-update-interval", time.Hour, "how often to update already fetched libs; 0 never fetches")
	fl.BoolVar(&o.NoLibsUpdate, "no-libs-update", false, "never fetch or update libs (same as --libs-update-interval 0)")
	fl.BoolVar(&o.PreferPrebuiltLibs, "prefer-prebuilt-libs", false, "use a lib's prebuilt binary even when its sources exist")
	fl.BoolVar(&o.Clean, "clean", false, "clean build: wipe the previous build state (and, remotely, the server context)")
	fl.BoolVar(&o.DryRun, "build-dry-run", false, "prepare the build (resolve the manifest, write build/gen) but run no make or docker")
	fl.StringVar(&o.BuildTarget, "build-target", DefaultTarget, "make target")
	fl.BoolVar(&o.NoPlatformCheck, "no-platform-check", false, "build even for a platform the app does not list")
	fl.BoolVar(&o.SaveBuildStat, "save-build-stat", true, "save build statistics in build/gen/build_stat.json")
	fl.StringVar(&o.BuildParamsFile, "build-params", "", "read all build parameters from this YAML file")
	fl.StringVar(&o.DepsVersionsFile, "deps-versions", "", "check libs and modules against this deps manifest")
	fl.BoolVar(&o.StrictDepsVersions, "strict-deps-versions", true, "with --deps-versions, missing or different deps are errors")
	fl.StringVar(&o.Credentials, "credentials", "", "credentials for private git hosts: TOKEN, HOST:TOKEN or HOST:USER:PASS, comma-separated, or @FILE")
	fl.StringVar(&o.GHToken, "gh-token", "", "deprecated, use --credentials github.com:TOKEN: a token for github.com")
	_ = fl.MarkHidden("arch")
	_ = fl.MarkHidden("gh-token")
}

// Params assembles the build's parameters from the flags, as upstream
// does; with --build-params FILE they come from that file only. Relative
// paths are taken against dir.
func (o *Flags) Params(dir string) (*protocol.BuildParams, error) {
	opts := o
	if opts.BuildParamsFile != "" {
		bp, err := protocol.ReadBuildParams(opts.BuildParamsFile)
		if err != nil {
			return nil, fmt.Errorf("--build-params: %w", err)
		}
		if bp.BuildTarget == "" {
			bp.BuildTarget = DefaultTarget
		}
		return bp, nil
	}
	buildVars := map[string]string{"BOARD": opts.Board}
	if err := parseVars(opts.BuildVars, buildVars); err != nil {
		return nil, fmt.Errorf("invalid --build-var: %w", err)
	}
	cdefs := map[string]string{}
	if err := parseVars(opts.CDefs, cdefs); err != nil {
		return nil, fmt.Errorf("invalid --cdef: %w", err)
	}
	var extraLibs []protocol.LibSpec
	for _, v := range opts.LibsExtra {
		var l protocol.LibSpec
		if err := yaml.Unmarshal([]byte(v), &l); err != nil {
			return nil, fmt.Errorf("invalid --lib-extra value %q: %w", v, err)
		}
		extraLibs = append(extraLibs, l)
	}
	libs, err := customLocations("--lib", opts.Libs, dir)
	if err != nil {
		return nil, err
	}
	modules, err := customLocations("--module", opts.Modules, dir)
	if err != nil {
		return nil, err
	}
	if opts.Repo != "" {
		repo := AbsFrom(dir, opts.Repo)
		if err := checkRepo(repo); err != nil {
			return nil, fmt.Errorf("--repo %s: %w", opts.Repo, err)
		}
		modules["mongoose-os"] = repo
	}
	creds, err := ParseCredentials(opts.Credentials, opts.GHToken)
	if err != nil {
		return nil, fmt.Errorf("invalid --credentials: %w", err)
	}
	interval := opts.LibsUpdateInterval
	if opts.NoLibsUpdate {
		interval = 0
	}
	platform := opts.Platform
	if platform == "" {
		platform = opts.Arch
	}
	bp := &protocol.BuildParams{
		ManifestAdjustments: protocol.ManifestAdjustments{
			Platform:  platform,
			BuildVars: buildVars,
			CDefs:     cdefs,
			CFlags:    opts.CFlagsExtra,
			CXXFlags:  opts.CXXFlagsExtra,
			ExtraLibs: extraLibs,
		},
		Clean:                 opts.Clean,
		DryRun:                opts.DryRun,
		Verbose:               opts.Verbose,
		BuildTarget:           opts.BuildTarget,
		CustomLibLocations:    libs,
		CustomModuleLocations: modules,
		LibsUpdateInterval:    interval,
		NoPlatformCheck:       opts.NoPlatformCheck,
		SaveBuildStat:         opts.SaveBuildStat,
		PreferPrebuiltLibs:    opts.PreferPrebuiltLibs,
		Credentials:           creds,
	}
	if bp.BuildTarget == "" {
		bp.BuildTarget = DefaultTarget
	}
	if opts.DepsVersionsFile != "" {
		data, err := os.ReadFile(opts.DepsVersionsFile)
		if err != nil {
			return nil, fmt.Errorf("--deps-versions: %w", err)
		}
		var dm protocol.DepsManifest
		if err := yaml.Unmarshal(data, &dm); err != nil {
			return nil, fmt.Errorf("--deps-versions: %s: %w", opts.DepsVersionsFile, err)
		}
		bp.DepsVersions = &dm
		bp.StrictDepsVersions = opts.StrictDepsVersions
	}
	return bp, nil
}

// parseVars reads NAME=VALUE or NAME:VALUE entries into vars; the
// separator that comes first wins, as upstream.
func parseVars(entries []string, vars map[string]string) error {
	for _, e := range entries {
		i := strings.IndexAny(e, "=:")
		if i < 0 {
			return fmt.Errorf("%q: want NAME=VALUE", e)
		}
		vars[e[:i]] = e[i+1:]
	}
	return nil
}

// customLocations parses NAME:LOCATION entries; a location that is not a
// URL is a path, made absolute against dir.
func customLocations(flag string, entries []string, dir string) (map[string]string, error) {
	res := map[string]string{}
	for _, e := range entries {
		name, loc, ok := strings.Cut(e, ":")
		if !ok || name == "" || loc == "" {
			return nil, fmt.Errorf("invalid %s entry %q: want NAME:LOCATION", flag, e)
		}
		if !isURL(loc) {
			loc = AbsFrom(dir, loc)
		}
		res[name] = loc
	}
	return res, nil
}

func isURL(s string) bool {
	u, err := url.Parse(s)
	// A one-letter scheme is a Windows drive (C:\x), not a URL.
	return err == nil && len(u.Scheme) > 1
}

// AbsFrom returns p made absolute against dir.
func AbsFrom(dir, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}

// ParseCredentials reads --credentials: comma-separated entries, or @FILE
// with one per line; each TOKEN, HOST:TOKEN or HOST:USER:PASSWORD; the user
// defaults to "mos". The deprecated --gh-token is a token for github.com,
// unless --credentials has an entry for github.com.
func ParseCredentials(s, ghToken string) (map[string]protocol.Credentials, error) {
	res, err := parseCredentialsList(s)
	if err != nil || ghToken == "" {
		return res, err
	}
	if res == nil {
		res = map[string]protocol.Credentials{}
	}
	if _, ok := res[GitHubHost]; !ok {
		res[GitHubHost] = protocol.Credentials{User: "mos", Pass: strings.TrimSpace(ghToken)}
	}
	return res, nil
}

// GitHubHost is the host --gh-token is for.
const GitHubHost = "github.com"

func parseCredentialsList(s string) (map[string]protocol.Credentials, error) {
	if s == "" {
		return nil, nil
	}
	var entries []string
	if file, ok := strings.CutPrefix(s, "@"); ok {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); line != "" {
				entries = append(entries, line)
			}
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
	} else {
		entries = strings.Split(s, ",")
	}
	res := map[string]protocol.Credentials{}
	for i, e := range entries {
		parts := strings.Split(e, ":")
		for j := range parts {
			parts[j] = strings.TrimSpace(parts[j])
		}
		c := protocol.Credentials{User: "mos"}
		host := ""
		switch len(parts) {
		case 1:
			c.Pass = parts[0]
		case 2:
			host, c.Pass = parts[0], parts[1]
		case 3:
			host, c.User, c.Pass = parts[0], parts[1], parts[2]
		default:
			return nil, fmt.Errorf("entry %d: want TOKEN, HOST:TOKEN or HOST:USER:PASSWORD", i+1)
		}
		res[host] = c
	}
	return res, nil
}

// checkRepo says whether dir looks like a mongoose-os checkout (it has
// platforms/, where the platforms a build can target are read from), so
// that a wrong --repo is named as such, not as a module or platform
// problem later.
func checkRepo(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return errors.New("no such directory")
	case err != nil:
		return err
	case !fi.IsDir():
		return errors.New("not a directory")
	}
	if fi, err := os.Stat(filepath.Join(dir, "platforms")); err != nil || !fi.IsDir() {
		return errors.New("not a mongoose-os checkout (it has no platforms/ directory)")
	}
	return nil
}
