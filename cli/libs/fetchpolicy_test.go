package libs

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mongoose-os/mos/cli/manifest"
	"github.com/mongoose-os/mos/common/fetchpolicy"
	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/common/testenv"
)

// With a fetch policy (the server's --fetch-allow), a listed 127.0.0.1
// port serves libs, an unlisted one is refused before any request, without
// the retry at version latest, and downloads and their redirects pass the
// same list.
func TestFetchPolicy(t *testing.T) {
	f := newFixture(t)
	f.origin("lib1", testenv.Tree{"mos.yml": {Content: "v: 1\n"}})
	srv := newGitHTTPServer(t, filepath.Join(f.root, "origin"), "u", "p")
	other := newGitHTTPServer(t, filepath.Join(f.root, "origin"), "u", "p")
	host := strings.TrimPrefix(srv.URL, "http://")
	pol, err := fetchpolicy.Parse([]string{"github.com", host}, nil)
	if err != nil {
		t.Fatal(err)
	}
	creds := map[string]protocol.Credentials{"": {User: "u", Pass: "p"}}
	provider := func(name string) *Provider {
		return f.provider(func(o *Options) {
			o.DepsDir = filepath.Join(f.root, name)
			o.CacheDir = filepath.Join(f.root, "cache")
			o.Credentials = creds
			o.FetchPolicy = pol
		})
	}

	got, err := provider("listed").Lib(context.Background(), &manifest.Dep{Location: srv.URL + "/lib1"}, f.app, "2.20.0", "")
	if err != nil || readFile(t, filepath.Join(got.Dir, "mos.yml")) != "v: 1\n" {
		t.Fatalf("listed host: %+v, %v", got, err)
	}

	logBefore := len(f.log.String())
	_, err = provider("unlisted").Lib(context.Background(), &manifest.Dep{Location: other.URL + "/lib1"}, f.app, "2.20.0", "")
	want := `fetching lib "lib1" (` + other.URL + `/lib1 @ 2.20.0): location ` + other.URL + `/lib1: host ` +
		strings.TrimPrefix(other.URL, "http://") + `: not allowed by --fetch-allow (allowed: github.com, ` + host + `)`
	if err == nil || err.Error() != want || !errors.Is(err, fetchpolicy.ErrNotAllowed) {
		t.Errorf("unlisted host: %v\nwant %s", err, want)
	}
	other.mu.Lock()
	if n := other.accepted + other.rejected; n != 0 {
		t.Errorf("the unlisted server got %d requests", n)
	}
	other.mu.Unlock()
	if log := f.log.String()[logBefore:]; strings.Contains(log, "trying version latest") {
		t.Errorf("a refused location was tried again:\n%s", log)
	}

	t.Run("a_copy_already_there_needs_no_fetch", func(t *testing.T) {
		// An upload's deps/ (a stock client sends them): used as it is.
		testenv.WriteTree(t, filepath.Join(f.root, "uploaded", "lib1"), testenv.Tree{"mos.yml": {Content: "v: uploaded\n"}})
		got, err := provider("uploaded").Lib(context.Background(), &manifest.Dep{Location: other.URL + "/lib1"}, f.app, "2.20.0", "")
		if err != nil || readFile(t, filepath.Join(got.Dir, "mos.yml")) != "v: uploaded\n" {
			t.Errorf("%+v, %v", got, err)
		}
	})

	t.Run("downloads", func(t *testing.T) {
		var hits atomic.Int32
		target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
		defer target.Close()
		redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL+"/asset", http.StatusFound)
		}))
		defer redirector.Close()
		pol, err := fetchpolicy.Parse([]string{strings.TrimPrefix(redirector.URL, "http://")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		p := f.provider(func(o *Options) { o.FetchPolicy = pol })
		if _, err := p.get(context.Background(), target.URL+"/asset", nil); !errors.Is(err, fetchpolicy.ErrNotAllowed) {
			t.Errorf("unlisted download: %v", err)
		}
		if _, err := p.get(context.Background(), redirector.URL+"/x", nil); !errors.Is(err, fetchpolicy.ErrNotAllowed) ||
			!strings.Contains(err.Error(), "redirect: ") {
			t.Errorf("redirect to an unlisted host: %v", err)
		}
		if n := hits.Load(); n != 0 {
			t.Errorf("the unlisted server got %d requests", n)
		}
	})
}
