package protocol

import (
	"fmt"
	"regexp"
	"strings"
)

// Form fields of POST /api/fwbuild/<version>/build, as stock.
const (
	FieldFile               = "file"  // source zip, filename source.zip
	FieldClean              = "clean" // "1" starts the context afresh
	FieldPreferPrebuiltLibs = "prefer_prebuilt_libs"
	FieldBuildParams        = "build_params" // YAML BuildParams
	FieldBuildCtx           = "build_ctx"    // context name from build/gen/build_ctx.txt
	FieldBuildStat          = "build_stat"   // build/gen/build_stat.json

	SourceZipName = "source.zip"
)

// Files in the result's build/gen that carry the context between builds.
const (
	BuildCtxFile  = "build_ctx.txt"
	BuildStatFile = "build_stat.json"
)

// Status codes of the build action besides 200.
const (
	StatusBuildFailed = 418 // result zip with build.log
)

// BuildPath returns the path of the build action for a version segment.
func BuildPath(version string) string {
	return "/api/fwbuild/" + version + "/build"
}

var contextNameRE = regexp.MustCompile(`^[a-zA-Z0-9_]+$`)

// ValidContextName reports whether name may name a build context: letters,
// digits and '_' only (so it is always one safe path component).
func ValidContextName(name string) bool { return contextNameRE.MatchString(name) }

// CheckPathComponent checks that s can be used as one directory name on the
// server (a version, app name or platform): non-empty, no separators, not
// "." or "..", no control characters.
func CheckPathComponent(what, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%s is empty", what)
	case s == "." || s == "..":
		return fmt.Errorf("%s %q is not a plain name", what, s)
	case strings.ContainsAny(s, `/\:`):
		return fmt.Errorf("%s %q contains a path separator", what, s)
	case len(s) > 128:
		return fmt.Errorf("%s is longer than 128 characters", what)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%s %q contains a control character", what, s)
		}
	}
	return nil
}
