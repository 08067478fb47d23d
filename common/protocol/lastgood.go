package protocol

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// lastGood are the paths of build/ holding what a good build made: the
// firmware (fw.zip, fw/) and the objects (objs/, ELF included).
var lastGood = []string{"fw.zip", "fw", "objs"}

// IsLastGood says whether rel (a slash path relative to build/) is, or is
// below, one of the paths holding the last good build's output. A failed
// build leaves them as they were: our server's 418 answer neither carries
// nor deletes them, and our client keeps its own whatever the answer says,
// so the firmware of the last good build stays usable.
func IsLastGood(rel string) bool {
	for _, p := range lastGood {
		if rel == p || strings.HasPrefix(rel, p+"/") {
			return true
		}
	}
	return false
}

// LastGoodNote is the line that tells, after a failed build, which of
// fw.zip, fw/ and objs/ buildDir still holds: they are the last good
// build's. "" when it holds none of them.
func LastGoodNote(buildDir string) string {
	var have []string
	for _, p := range lastGood {
		if _, err := os.Lstat(filepath.Join(buildDir, p)); err == nil {
			if p != "fw.zip" {
				p += "/"
			}
			have = append(have, p)
		}
	}
	switch len(have) {
	case 0:
		return ""
	case 1:
		return fmt.Sprintf("%s in %s is from the last good build", have[0], buildDir)
	}
	return fmt.Sprintf("%s and %s in %s are from the last good build", strings.Join(have[:len(have)-1], ", "), have[len(have)-1], buildDir)
}
