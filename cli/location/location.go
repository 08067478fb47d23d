// Package location parses the `location` of a lib or module entry: whether
// it is a git repo or a local dir, the name derived from it, and for git
// the repo URL, the repo's name and the sub-dir of the lib inside the repo.
package location

import (
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"
)

// Kind says how a location is obtained.
type Kind int

const (
	Local Kind = iota // a directory on disk
	Git               // a git repository (URL or host:path shorthand)
)

// Location is a parsed lib/module location.
type Location struct {
	Kind Kind
	Raw  string
	// Name is the name derived from the location, before the boards rename.
	Name string

	// Git only.
	Host     string // host name ("" for file:// URLs)
	RepoPath string // owner/repo style path used by release APIs
	RepoName string // name of the clone dir under deps/
	RepoURL  string // what git clones
	SubDir   string // slash path of the lib inside the repo, "" for the root
}

// Renamed lib: "boards" sorts last as "zz_boards" so that its overrides
// come after what they override.
const (
	boardsName        = "boards"
	boardsRenamedName = "zz_boards"
)

var (
	// [user@]host:path, also matching any scheme://... URL.
	shortGitRE = regexp.MustCompile(`^(?:(\w+)@)?(\S+?):(\S+)`)
	// A Windows drive path, which the shorthand above would take for git.
	drivePathRE = regexp.MustCompile(`^[a-zA-Z]:[\\/]`)
	validNameRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-_]`)
)

// IsGit reports whether an entry with this type and location is fetched
// with git: type "git" says so, any other non-empty type says local, and an
// empty type is guessed from the location.
func IsGit(typ, loc string) bool {
	if typ != "" {
		return typ == "git"
	}
	if loc == "" || drivePathRE.MatchString(loc) {
		return false
	}
	if u, err := url.Parse(loc); err == nil {
		if u.Scheme == "ssh" || (u.Scheme == "https" && u.Host == "github.com") {
			return true
		}
	}
	return shortGitRE.MatchString(loc)
}

// Parse parses loc for an entry of type typ ("" to guess).
func Parse(typ, loc string) (*Location, error) {
	if loc == "" {
		return nil, fmt.Errorf("location is not set")
	}
	if !IsGit(typ, loc) {
		name := path.Base(strings.ReplaceAll(loc, `\`, "/"))
		if strings.HasSuffix(loc, "/") || strings.HasSuffix(loc, `\`) || name == "." || name == "/" {
			return nil, fmt.Errorf("name is empty in the location %q", loc)
		}
		return &Location{Kind: Local, Raw: loc, Name: name}, nil
	}
	return parseGit(loc)
}

func parseGit(loc string) (*Location, error) {
	short := false
	u, err := url.Parse(loc)
	switch {
	case err != nil:
		sm := shortGitRE.FindStringSubmatch(loc)
		if sm == nil {
			return nil, fmt.Errorf("%q is not a git location", loc)
		}
		u = &url.URL{Host: sm[2], Path: sm[3]}
		if sm[1] != "" {
			u.User = url.User(sm[1])
		}
		short = true
	case u.Host == "" && u.Opaque != "":
		// host:path without user@ parses as scheme "host", opaque "path".
		u = &url.URL{Host: u.Scheme, Path: u.Opaque}
		short = true
	case u.Scheme == "":
		return nil, fmt.Errorf("%q is not a git location", loc)
	}

	parts := strings.Split(u.Path, "/")
	l := &Location{Kind: Git, Raw: loc, Host: u.Host}
	l.Name = strings.TrimSuffix(parts[len(parts)-1], ".git")

	// Where the repo ends and the path inside it starts.
	if u.Scheme == "https" {
		if u.Host == "github.com" {
			// /<owner>/<repo>/tree/<branch>/<dir...>
			if len(parts) > 4 {
				l.RepoPath = strings.Join(parts[1:3], "/")
				l.RepoName = parts[2]
				u.Path = strings.Join(parts[:3], "/")
				l.SubDir = strings.Join(nonEmpty(parts[5:]), "/")
			}
		} else {
			// GitLab: /<group...>/<repo>/-/tree/<branch>/<dir...>
			for i, p := range parts {
				if i > 2 && p == "tree" && parts[i-1] == "-" && i < len(parts)-2 {
					l.RepoPath = strings.Join(parts[1:i-1], "/")
					l.RepoName = parts[i-2]
					u.Path = strings.Join(parts[:i-1], "/")
					l.SubDir = strings.Join(nonEmpty(parts[i+2:]), "/")
				}
			}
		}
	}
	if l.RepoName == "" {
		// Otherwise the first component ending in .git ends the repo part.
		var repoParts []string
		for i, p := range parts {
			if strings.HasSuffix(p, ".git") {
				l.RepoName = strings.TrimSuffix(p, ".git")
				if i+1 < len(parts) {
					u.Path = strings.Join(parts[:i+1], "/")
					l.SubDir = strings.Join(nonEmpty(parts[i+1:]), "/")
				}
				repoParts = append(repoParts, l.RepoName)
				break
			}
			if p != "" {
				l.RepoName = p
				repoParts = append(repoParts, p)
			}
		}
		l.RepoPath = strings.Join(repoParts, "/")
	}
	if l.RepoName == "" {
		return nil, fmt.Errorf("%q: no repository name in the path", loc)
	}

	if short {
		if u.User != nil && u.User.Username() != "" {
			l.RepoURL = fmt.Sprintf("%s@%s:%s", u.User.Username(), u.Host, u.Path)
		} else {
			l.RepoURL = fmt.Sprintf("%s:%s", u.Host, u.Path)
		}
	} else {
		l.RepoURL = u.String()
	}
	return l, nil
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// LibName returns the name of an entry: its explicit name if set (checked),
// else the one derived from its location; "boards" becomes "zz_boards".
func LibName(explicit, typ, loc string) (string, error) {
	n := explicit
	if n != "" {
		if err := CheckName(n); err != nil {
			return "", err
		}
	} else {
		l, err := Parse(typ, loc)
		if err != nil {
			return "", fmt.Errorf("name of lib is not set and cannot be guessed from %q: %w", loc, err)
		}
		n = l.Name
	}
	if n == boardsName {
		n = boardsRenamedName
	}
	return n, nil
}

// Name2 maps the internal "zz_boards" back to "boards"; used for --libs-dir
// lookups.
func Name2(name string) string {
	if name == boardsRenamedName {
		return boardsName
	}
	return name
}

// CheckName checks a lib name as upstream does: an ASCII letter followed by
// a letter, digit, '-' or '_' (only the first two characters are checked).
func CheckName(n string) error {
	if !validNameRE.MatchString(n) {
		return fmt.Errorf("%q is not a valid name", n)
	}
	return nil
}
