// Package auth holds the accounts of fwbuild-manager: an htpasswd-style
// file of users with bcrypt password hashes and groups, the check of HTTP
// basic credentials against it, and the namespace a request's build
// context belongs to.
//
// The file, one entry a line (blank lines and lines starting with # are
// skipped):
//
//	alice:$2y$10$...          user:bcrypt hash, as `htpasswd -nB alice` prints
//	bob:$2a$12$...
//	group fw: alice, bob      group NAME: members (comma or space separated)
//
// User names are letters, digits and ._@- (at most 64); group names
// letters and digits (at most 32), so that a context name can carry one.
// Only bcrypt hashes ($2a$, $2b$, $2y$) are accepted: htpasswd's MD5, SHA
// and crypt schemes are refused when the file is read.
//
// Namespaces: a context named team_<group> or team_<group>_<anything>
// belongs to the group and can be used by its members only; any other
// name belongs to the user who sends it. So two users' "ci_main" are two
// names of which only the first to use it gets it: the second is refused
// (403), never given the first one's files.
package auth

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Sentinels; test with errors.Is.
var (
	// ErrNotMember: a team context named for a group the user is not in.
	ErrNotMember = errors.New("not a member of the group")
)

// TeamPrefix starts the names of contexts shared by a group.
const TeamPrefix = "team_"

var (
	userRE  = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,64}$`)
	groupRE = regexp.MustCompile(`^[A-Za-z0-9]{1,32}$`)
)

// Accounts are the users and groups of an accounts file.
type Accounts struct {
	users  map[string][]byte          // name -> bcrypt hash
	groups map[string]map[string]bool // group -> members

	// sem bounds the bcrypt checks running at once, so a flood of wrong
	// passwords cannot take every CPU from the builds.
	sem   chan struct{}
	cache checkCache
	dummy []byte // hash compared for unknown users, so they take as long
	// bcrypts counts the bcrypt comparisons made (for tests).
	bcrypts atomic.Int64
}

// Load reads the accounts file at path.
func Load(path string) (*Accounts, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--auth-file: %w", err)
	}
	defer f.Close()
	return Parse(f, path)
}

// Parse reads an accounts file; name prefixes its errors.
func Parse(r io.Reader, name string) (*Accounts, error) {
	a := &Accounts{users: map[string][]byte{}, groups: map[string]map[string]bool{}, sem: make(chan struct{}, 2)}
	type groupLine struct {
		line    int
		members []string
	}
	lines := map[string]groupLine{}
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		bad := func(format string, args ...any) error {
			return fmt.Errorf("%s:%d: %s", name, n, fmt.Sprintf(format, args...))
		}
		if rest, ok := strings.CutPrefix(line, "group "); ok {
			g, members, ok := strings.Cut(rest, ":")
			g = strings.TrimSpace(g)
			if !ok {
				return nil, bad("group line: want \"group NAME: user, user\"")
			}
			if !groupRE.MatchString(g) {
				return nil, bad("group name %q: use 1 to 32 letters and digits", trim(g))
			}
			if _, dup := lines[g]; dup {
				return nil, bad("group %q defined twice", g)
			}
			lines[g] = groupLine{line: n, members: strings.FieldsFunc(members, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })}
			continue
		}
		user, hash, ok := strings.Cut(line, ":")
		if !ok {
			return nil, bad("want user:bcrypt-hash or group NAME: members")
		}
		if !userRE.MatchString(user) {
			return nil, bad("user name %q: use 1 to 64 letters, digits and ._@-", trim(user))
		}
		if _, dup := a.users[user]; dup {
			return nil, bad("user %q defined twice", user)
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil || !strings.HasPrefix(hash, "$2") {
			return nil, bad("user %q: the password hash is not bcrypt (make one with htpasswd -nB %s)", user, user)
		}
		a.users[user] = []byte(hash)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	for g, gl := range lines {
		set := map[string]bool{}
		for _, m := range gl.members {
			if _, ok := a.users[m]; !ok {
				return nil, fmt.Errorf("%s:%d: group %q: no user %q in the file", name, gl.line, g, trim(m))
			}
			set[m] = true
		}
		a.groups[g] = set
	}
	if len(a.users) == 0 {
		return nil, fmt.Errorf("%s: no users", name)
	}
	// Unknown users are compared against a hash of the cost real ones
	// have, so they take as long.
	cost := bcrypt.DefaultCost
	for _, h := range a.users {
		cost, _ = bcrypt.Cost(h)
		break
	}
	dummy, err := bcrypt.GenerateFromPassword([]byte("not a password of anyone"), cost)
	if err != nil {
		return nil, err
	}
	a.dummy = dummy
	return a, nil
}

func trim(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// Users returns the user names, sorted.
func (a *Accounts) Users() []string {
	var out []string
	for u := range a.users {
		out = append(out, u)
	}
	sort.Strings(out)
	return out
}

// Groups returns the groups user is in, sorted.
func (a *Accounts) Groups(user string) []string {
	var out []string
	for g, m := range a.groups {
		if m[user] {
			out = append(out, g)
		}
	}
	sort.Strings(out)
	return out
}

// HasGroup reports whether the file defines group g.
func (a *Accounts) HasGroup(g string) bool {
	_, ok := a.groups[g]
	return ok
}

// Check reports whether pass is user's password. A success is remembered
// for a while (keyed by a SHA-256 of user and password), so the several
// requests of one delta build pay bcrypt's cost once.
func (a *Accounts) Check(user, pass string) bool {
	key := sha256.Sum256([]byte(user + "\x00" + pass))
	if a.cache.hit(key) {
		return true
	}
	hash, known := a.users[user]
	if !known {
		hash = a.dummy
	}
	a.sem <- struct{}{}
	a.bcrypts.Add(1)
	err := bcrypt.CompareHashAndPassword(hash, []byte(pass))
	<-a.sem
	if err != nil || !known {
		return false
	}
	a.cache.add(key)
	return true
}

// InGroup reports whether user is a member of group.
func (a *Accounts) InGroup(user, group string) bool { return a.groups[group][user] }

// Namespace returns the namespace of a context named ctxName used by user:
// "team:<group>" for team_<group>[_...] (ErrNotMember unless user is in
// the group), else "user:<user>" (also for a new context, ctxName "").
func (a *Accounts) Namespace(user, ctxName string) (string, error) {
	if rest, ok := strings.CutPrefix(ctxName, TeamPrefix); ok {
		g, _, _ := strings.Cut(rest, "_")
		if !a.groups[g][user] {
			return "", fmt.Errorf("%w: build_ctx %q is the group %q's and user %q is not in it", ErrNotMember, ctxName, trim(g), user)
		}
		return "team:" + g, nil
	}
	return "user:" + user, nil
}

// checkCache remembers successful checks for cacheTTL, at most cacheMax
// of them (when full, it starts over).
type checkCache struct {
	mu sync.Mutex
	m  map[[32]byte]time.Time
}

const (
	cacheTTL = 5 * time.Minute
	cacheMax = 4096
)

func (c *checkCache) hit(key [32]byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	// A plain lookup: the key is a digest, so its timing tells nothing
	// about a password.
	until, ok := c.m[key]
	if ok && !time.Now().Before(until) {
		delete(c.m, key)
		return false
	}
	return ok
}

func (c *checkCache) add(key [32]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= cacheMax {
		c.m = map[[32]byte]time.Time{}
	}
	c.m[key] = time.Now().Add(cacheTTL)
}
