// Package version holds the version this tool presents and its build id.
//
// The fork presents itself as stock mos 2.20.0 (the last upstream release):
// manifests see it as ${mos.version} and build servers get it as the
// /api/fwbuild/<version>/ segment, so both pick what they picked for stock
// 2.20.0. The fork's own identity goes into BuildID.
package version

import (
	"fmt"
	"regexp"
	"runtime"
)

// Version is the version presented to manifests and build servers.
const Version = "2.20.0"

// BuildID identifies this build of the fork; the Makefile sets it at link
// time from the commit time and `git describe` (not the build time, so two
// builds of one commit are the same bytes).
var BuildID = "dev"

// PackageVersion is the fork's own release, the version of its Debian
// packages and release archives (the first entry of debian/changelog); the
// Makefile sets it at link time. Empty in a plain `go build`.
var PackageVersion = ""

// Latest is what a non-release version is presented as, as upstream does.
const Latest = "latest"

var releaseRE = regexp.MustCompile(`^\d+\.[0-9.]*$`)

// LooksLikeRelease reports whether v is a release number such as "2.20.0".
func LooksLikeRelease(v string) bool { return releaseRE.MatchString(v) }

// Presented returns Version if it is a release number, else "latest"; this
// is both ${mos.version} and the build server's version segment.
func Presented() string {
	if LooksLikeRelease(Version) {
		return Version
	}
	return Latest
}

// UserAgent is the User-Agent header the client sends, shaped as upstream's.
func UserAgent() string {
	return fmt.Sprintf("mos/%s %s (%s; %s)", Version, BuildID, runtime.GOOS, runtime.GOARCH)
}
