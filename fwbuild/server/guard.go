package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/golang/glog"

	"github.com/mongoose-os/mos/fwbuild/buildctx"
	"github.com/mongoose-os/mos/fwbuild/quota"
)

// What guard puts into a request's context.
type (
	bodyKey struct{} // *readCounter: the body as the client sent it
	userKey struct{} // string: the authenticated user
)

// readCounter counts what was read of a request body.
type readCounter struct {
	io.ReadCloser
	n int64
}

func (b *readCounter) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}

// Realm is the realm of the server's basic authentication.
const Realm = "fwbuild"

// guard is in front of every route: it bounds the time to read the
// request (--read-timeout) and, with accounts, answers an API request
// without valid basic credentials 401 before reading its body.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if err := rc.SetReadDeadline(time.Now().Add(s.cfg.ReadTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			glog.Warningf("%s %s: setting the read deadline: %v", r.Method, r.URL.Path, err)
		}
		body := &readCounter{ReadCloser: r.Body}
		r.Body = body
		ctx := context.WithValue(r.Context(), bodyKey{}, body)
		if s.accounts != nil && s.needsAuth(r.URL.Path) {
			user, pass, ok := r.BasicAuth()
			switch {
			case !ok:
				s.unauthorized(w, r, "authentication required: give a user and password of this server's accounts (mos build --server http://USER:PASSWORD@host:port)")
				return
			case !s.accounts.Check(user, pass):
				glog.Infof("%s %s: wrong password or unknown user %q", r.Method, r.URL.Path, trimName(user))
				s.logins.Refused(trimName(user), r.RemoteAddr, time.Now())
				s.unauthorized(w, r, "wrong user or password")
				return
			}
			ctx = context.WithValue(ctx, userKey{}, user)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func (s *Server) unauthorized(w http.ResponseWriter, r *http.Request, msg string) {
	if isBuildPath(r.URL.Path) {
		s.metrics.BuildAnswered(http.StatusUnauthorized)
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="`+Realm+`", charset="UTF-8"`)
	s.fail(w, r, "", errorf(http.StatusUnauthorized, "%s", msg))
}

// userOf is the authenticated user of r ("" without accounts).
func userOf(r *http.Request) string {
	u, _ := r.Context().Value(userKey{}).(string)
	return u
}

func trimName(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// bodyRead marks the end of reading a request's body: the read deadline
// no longer applies (a build may take longer, and nothing more is read).
func bodyRead(w http.ResponseWriter) {
	_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
}

// drainMax is the most of an unwanted body the server reads before it
// answers: a client that sends its whole body before it reads the answer
// (Python's http.client, a stock mos on a slow link) gets it instead of a
// connection reset, which is what closing a socket with unread data does.
const drainMax = 256 << 20

// drain reads and discards what the client is still sending, up to max
// bytes in all and within the read deadline. A client waiting for
// "100 Continue" has sent nothing and is left alone.
func drain(r *http.Request, max int64) {
	body, _ := r.Context().Value(bodyKey{}).(*readCounter)
	if body == nil {
		return
	}
	if body.n == 0 && strings.EqualFold(r.Header.Get("Expect"), "100-continue") {
		return
	}
	if r.ContentLength > 0 && r.ContentLength-body.n > max {
		return // declared too large to be worth reading: just close
	}
	_, _ = io.CopyN(io.Discard, body.ReadCloser, max)
}

// namespace chooses the namespace of a request's context and refuses a
// team context of a group the user is not in (403).
func (s *Server) namespace(req *request) error {
	if s.accounts == nil {
		return nil // one anonymous namespace
	}
	req.user = userOf(req.r)
	ns, err := s.accounts.Namespace(req.user, req.name)
	if err != nil {
		return errorf(http.StatusForbidden, "%w", err)
	}
	req.ns = ns
	return nil
}

// claim makes sure the locked context is the request's namespace's,
// before anything of it is read or changed. A context made before accounts
// were turned on is adopted (see buildctx.Context.Claim) and the answer
// says so.
func (s *Server) claim(req *request, c *buildctx.Context) error {
	adopted, err := c.Claim(req.ns)
	if err != nil {
		if errors.Is(err, buildctx.ErrNotOwner) {
			return errorf(http.StatusForbidden, "build_ctx %q belongs to another account: choose another name (team_<group>_<name> shares one with a group)", req.name)
		}
		return err
	}
	if adopted {
		req.notice = fmt.Sprintf("build_ctx %q was made before accounts were turned on: %s adopted it, and it started afresh", req.name, nsWords(req.ns))
		glog.Infof("%s: adopted a context made without accounts (now %s's)", req.log, req.ns)
	}
	return c.Use()
}

// nsWords names a namespace for a user: user "alice", group "fw".
func nsWords(ns string) string {
	if g, ok := strings.CutPrefix(ns, "team:"); ok {
		return fmt.Sprintf("group %q", g)
	}
	return fmt.Sprintf("user %q", strings.TrimPrefix(ns, "user:"))
}

// collectInterval is how often contexts are checked against
// --context-ttl and --max-contexts-size (and after every build).
const collectInterval = 5 * time.Minute

// collectLoop removes old and surplus contexts until ctx ends.
func (s *Server) collectLoop(ctx context.Context) {
	if s.cfg.ContextTTL == 0 && s.cfg.MaxContextsSize == 0 && s.cfg.MinFreeDisk == 0 && s.cfg.AccountQuota == 0 && s.cfg.TeamQuota == 0 {
		return
	}
	t := time.NewTicker(collectInterval)
	defer t.Stop()
	for {
		s.collect()
		last := time.Now()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.kick:
			// Builds in a row ask for one pass, not one each.
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Until(last.Add(collectSpacing))):
			}
		}
	}
}

// collectSpacing is the least time between two passes asked for by
// builds.
const collectSpacing = 30 * time.Second

// collect runs one pass of context removal.
func (s *Server) collect() buildctx.CollectStats {
	st, err := s.store.Collect(buildctx.CollectOptions{
		TTL: s.cfg.ContextTTL, MaxSize: s.cfg.MaxContextsSize, OwnerTTL: s.cfg.OwnerTTL,
		MinFree: s.cfg.MinFreeDisk, Free: s.quota.Free, Quota: s.quota.Limit,
	})
	if err != nil {
		glog.Warningf("removing old contexts: %v", err)
	}
	s.metrics.ContextsEvicted(len(st.Removed))
	if len(st.Removed) > 0 {
		s.ctxCache.stale()
	}
	for _, c := range st.Removed {
		glog.Infof("removed context %s (unused for the longest: over --context-ttl %v, --max-contexts-size %d, its account's --account-quota %d or --team-quota %d, or free disk under --min-free-disk %d)", c, s.cfg.ContextTTL, s.cfg.MaxContextsSize, s.cfg.AccountQuota, s.cfg.TeamQuota, s.cfg.MinFreeDisk)
	}
	for _, o := range st.OwnersExpired {
		glog.Infof("owner record of removed context %s expired (--owner-ttl %v): the name is free", o, s.cfg.OwnerTTL)
	}
	if len(st.Removed) > 0 || st.Skipped > 0 {
		glog.Infof("contexts: %d, %d bytes; removed %d (%d bytes); %d in use kept", st.Contexts, st.Bytes, len(st.Removed), st.Freed, st.Skipped)
	}
	if s.onCollect != nil {
		s.onCollect(st)
	}
	return st
}

// kickCollect asks for a collection pass soon (after a build).
func (s *Server) kickCollect() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// reserve reserves the bytes the request's upload unpacks to, within its
// namespace's quota and the free disk above the floor, counting uploads in
// flight (package quota); under the floor it runs a collection pass first.
// The reservation ends with req.release, once the upload is in the
// context.
func (s *Server) reserve(req *request, need int64) error {
	release, err := s.uploads.Reserve(req.ns, need)
	if errors.Is(err, quota.ErrDiskLow) {
		s.collect()
		release, err = s.uploads.Reserve(req.ns, need)
	}
	switch {
	case errors.Is(err, quota.ErrQuota):
		return errorf(http.StatusRequestEntityTooLarge, "upload: %w (--account-quota %d, --team-quota %d)", err, s.cfg.AccountQuota, s.cfg.TeamQuota)
	case errors.Is(err, quota.ErrDiskLow):
		return errorf(http.StatusInsufficientStorage, "the build server is low on disk: %w", err)
	case err != nil:
		return err
	}
	req.release = release
	return nil
}
