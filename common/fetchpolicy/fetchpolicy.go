// Package fetchpolicy is the allow-list of hosts a build server's builds
// may fetch libs, modules and prebuilt binaries from (--fetch-allow).
//
// The server configures it and passes it to the mos it runs, which does
// the fetching outside the sandbox: without a list, a lib location could
// make the server connect anywhere it can reach (its loopback, the
// cloud metadata address, the office network) and tell from the error
// whether a port is open.
//
// An entry is a host name ("github.com"), a wildcard over its sub-domains
// ("*.githubusercontent.com"), an IP address or a CIDR prefix, each
// optionally with ":PORT" (an IPv6 address in brackets). An entry without
// a port allows only the default port of the URL's scheme (https 443,
// http 80, ssh 22, git 9418). A URL whose host matches no entry is refused
// before any connection, with a message that depends only on the URL and
// the list. A matching host name is then resolved; a loopback, private,
// link-local, shared or unspecified address is refused unless the entry
// named that host exactly or the address itself (an IP or CIDR entry), so
// a public name pointing at an internal address is not a way in.
//
// Left open: git and the HTTP client resolve the name again when they
// connect, so a name whose DNS answer changes between the check and the
// connection (DNS rebinding) can still reach an internal address; list
// only hosts whose DNS you trust.
package fetchpolicy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// Default is what stock mos fetches from: libs and the core on GitHub
// (github.com, release downloads through api.github.com and redirects to
// *.githubusercontent.com) and GitLab (gitlab.com, its API included).
var Default = []string{"github.com", "api.github.com", "*.githubusercontent.com", "gitlab.com"}

// ErrNotAllowed is matched (errors.Is) by every refusal of the policy.
var ErrNotAllowed = errors.New("not allowed by --fetch-allow")

// Resolver returns the addresses of a host name; net.DefaultResolver's
// LookupNetIP with network "ip" is the real one.
type Resolver func(ctx context.Context, host string) ([]netip.Addr, error)

// Policy is a parsed allow-list. The zero value allows nothing; a nil
// *Policy allows everything (mos outside a server).
type Policy struct {
	entries  []entry
	raw      []string
	resolver Resolver
}

type entry struct {
	raw      string
	host     string // lower case; "" for an IP or CIDR entry
	wildcard bool   // host is a suffix: "*.host" matches sub-domains only
	prefix   netip.Prefix
	port     int // 0: the scheme's default port
}

var hostRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$`)

// Parse parses entries, each of which may itself be a comma-separated
// list; resolver nil means the system resolver.
func Parse(entries []string, resolver Resolver) (*Policy, error) {
	p := &Policy{resolver: resolver}
	if p.resolver == nil {
		p.resolver = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	for _, list := range entries {
		for _, s := range strings.Split(list, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			e, err := parseEntry(s)
			if err != nil {
				return nil, fmt.Errorf("--fetch-allow entry %q: %w", s, err)
			}
			p.entries = append(p.entries, e)
			p.raw = append(p.raw, s)
		}
	}
	return p, nil
}

func parseEntry(s string) (entry, error) {
	e := entry{raw: s}
	if pfx, err := netip.ParsePrefix(s); err == nil {
		e.prefix = pfx.Masked()
		return e, nil
	}
	host, port := s, ""
	if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
	} else if strings.Count(s, ":") == 1 {
		return e, fmt.Errorf("not HOST[:PORT]: %w", err)
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return e, fmt.Errorf("port %q is not a number from 1 to 65535", port)
		}
		e.port = n
	}
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		e.prefix = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		return e, nil
	}
	host = strings.ToLower(host)
	if rest, ok := strings.CutPrefix(host, "*."); ok {
		e.wildcard = true
		host = rest
	}
	if !hostRE.MatchString(host) {
		return e, fmt.Errorf("%q is not a host name, IP address or CIDR prefix", host)
	}
	e.host = host
	return e, nil
}

// String is the list as given, comma-separated: what the server passes to
// mos as --fetch-allow.
func (p *Policy) String() string {
	if p == nil {
		return ""
	}
	return strings.Join(p.raw, ",")
}

var defaultPorts = map[string]int{"https": 443, "http": 80, "ssh": 22, "git": 9418}

// scpLikeRE is git's [user@]host:path, which is ssh.
var scpLikeRE = regexp.MustCompile(`^(?:[^@/]+@)?(\[[^\]]+\]|[^:/]+):`)

// CheckURL returns nil when a fetch of rawURL (a git location: URL or
// host:path; or an HTTP download) is allowed. file:// and local paths are
// not network fetches and are left to the build's confinement; any other
// scheme is refused. Every refusal matches ErrNotAllowed.
func (p *Policy) CheckURL(ctx context.Context, rawURL string) error {
	if p == nil {
		return nil
	}
	scheme, host, port, err := split(rawURL)
	if err != nil {
		return err
	}
	if scheme == "file" {
		return nil
	}
	def, ok := defaultPorts[scheme]
	if !ok {
		return fmt.Errorf("%s: scheme %q: %w (http, https, ssh and git only)", redact(rawURL), scheme, ErrNotAllowed)
	}
	if port == 0 {
		port = def
	}
	hostPort := net.JoinHostPort(host, strconv.Itoa(port))
	var match *entry
	addr, hostIsIP := parseIP(host)
	for i := range p.entries {
		e := &p.entries[i]
		if e.port != 0 && e.port != port || e.port == 0 && port != def {
			continue
		}
		if hostIsIP {
			if e.prefix.IsValid() && e.prefix.Contains(addr) {
				match = e
				break
			}
			continue
		}
		if e.host == host && !e.wildcard || e.wildcard && strings.HasSuffix(host, "."+e.host) {
			match = e
			break
		}
	}
	if match == nil {
		return fmt.Errorf("%s: host %s: %w (allowed: %s)", redact(rawURL), hostPort, ErrNotAllowed, p.listed())
	}
	if hostIsIP || match.host == host {
		// Named exactly: whatever it is, the admin listed it.
		return nil
	}
	addrs, err := p.resolver(ctx, host)
	if err != nil {
		return fmt.Errorf("%s: resolving %s: %w", redact(rawURL), host, err)
	}
	for _, a := range addrs {
		if internal(a.Unmap()) {
			return fmt.Errorf("%s: host %s resolves to %s, an internal address: %w (list that host or address to allow it)",
				redact(rawURL), host, a.Unmap(), ErrNotAllowed)
		}
	}
	return nil
}

func (p *Policy) listed() string {
	if len(p.raw) == 0 {
		return "nothing"
	}
	return strings.Join(p.raw, ", ")
}

// split returns the scheme, lower-case host (no brackets) and port (0 if
// none) of a git location or URL.
func split(rawURL string) (scheme, host string, port int, err error) {
	if i := strings.Index(rawURL, "::"); i > 0 && !strings.ContainsAny(rawURL[:i], "/:@[") {
		// git's <transport>::<address> runs a remote helper.
		return rawURL[:i], "", 0, nil
	}
	u, perr := url.Parse(rawURL)
	if perr != nil || u.Scheme == "" || u.Opaque != "" && u.Host == "" {
		// git's scp-like syntax: host:path is ssh.
		m := scpLikeRE.FindStringSubmatch(rawURL)
		if m == nil {
			if perr == nil && u.Scheme == "" {
				return "file", "", 0, nil // a local path
			}
			return "", "", 0, fmt.Errorf("%s: not a URL: %w", redact(rawURL), ErrNotAllowed)
		}
		return "ssh", strings.ToLower(strings.Trim(m[1], "[]")), 0, nil
	}
	scheme = strings.ToLower(u.Scheme)
	host = strings.ToLower(u.Hostname())
	if ps := u.Port(); ps != "" {
		port, err = strconv.Atoi(ps)
		if err != nil || port < 1 || port > 65535 {
			return "", "", 0, fmt.Errorf("%s: port %q: %w", redact(rawURL), ps, ErrNotAllowed)
		}
	}
	if scheme != "file" && host == "" {
		return "", "", 0, fmt.Errorf("%s: no host: %w", redact(rawURL), ErrNotAllowed)
	}
	return scheme, host, port, nil
}

func parseIP(host string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// cgnat is 100.64.0.0/10, shared address space (RFC 6598): internal to a
// provider's network.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// internal says whether a is an address a public name has no business
// resolving to.
func internal(a netip.Addr) bool {
	return a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsUnspecified() || a.IsMulticast() || cgnat.Contains(a)
}

// redact drops a password from a URL before it goes into a message.
func redact(rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil && u.User != nil {
		return u.Redacted()
	}
	return rawURL
}
