package build

import (
	"bufio"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v2"

	"github.com/mongoose-os/mos/common/protocol"
)

// buildParams assembles the build's parameters from the flags, as upstream
// does; with --build-params FILE they come from that file only.
func buildParams(opts *BuildOptions) (*protocol.BuildParams, error) {
	if opts.BuildParamsFile != "" {
		bp, err := protocol.ReadBuildParams(opts.BuildParamsFile)
		if err != nil {
			return nil, fmt.Errorf("--build-params: %w", err)
		}
		if bp.BuildTarget == "" {
			bp.BuildTarget = defaultTarget
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
	libs, err := customLocations("--lib", opts.Libs, opts.Dir)
	if err != nil {
		return nil, err
	}
	modules, err := customLocations("--module", opts.Modules, opts.Dir)
	if err != nil {
		return nil, err
	}
	if opts.Repo != "" {
		modules["mongoose-os"] = absFrom(opts.Dir, opts.Repo)
	}
	creds, err := parseCredentials(opts.Credentials, opts.GHToken)
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
		bp.BuildTarget = defaultTarget
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
			loc = absFrom(dir, loc)
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

func absFrom(dir, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}

// parseCredentials reads --credentials (or the deprecated --gh-token):
// comma-separated entries, or @FILE with one per line; each TOKEN,
// HOST:TOKEN or HOST:USER:PASSWORD; the user defaults to "mos".
func parseCredentials(s, ghToken string) (map[string]protocol.Credentials, error) {
	if s == "" {
		s = ghToken
	}
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
