package remote

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"sync"
	"testing"

	"github.com/mongoose-os/mos/common/archive"
	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/common/testenv"
)

// received is one request as the test server saw it.
type received struct {
	path          string
	user, pass    string
	hasAuth       bool
	userAgent     string
	contentLength int64
	bodyBytes     int64
	order         []string          // form field names in order
	fields        map[string]string // first value of each text field
	fileName      string            // filename of the file part
	fileType      string            // Content-Type of the file part
	zipNames      []string          // entry names of the upload
	upload        testenv.Tree      // the upload unpacked, with modes
	context       string            // the context it built in
	sentBytes     int64             // response body size
}

// stockServer behaves like the stock fwbuild-manager where the client can
// tell: it unpacks the upload honouring Unix modes, reuses a context it
// knows by the name in build_ctx, ignores an unknown name and makes up
// build_ctx_<random digits>, deletes the selected context on clean, and
// answers with a zip of build/ (no modes, as stock) holding
// build/gen/build_ctx.txt, build/fw.zip and build/build.log.
//
// With asIs it behaves like our server on naming: a valid build_ctx names
// the context, known or not.
type stockServer struct {
	t        *testing.T
	asIs     bool
	status   int    // answer with this status and errBody instead of building
	errBody  string // with status
	fail     bool   // answer 418 (the build failed)
	rawReply []byte // answer 200 with these bytes instead of a result zip
	extra    map[string]string
	// Accounts, as our server: planStatus answers the plan action (our
	// server's first request) with this status and errBody instead of
	// refusing it as stock; refuse answers 403 to a build_ctx it holds
	// (another account's context); notice is sent as HeaderNotice.
	planStatus int
	omit       []string // result files left out of the answer
	refuse     map[string]bool
	notice     string

	mu         sync.Mutex
	contexts   map[string]int // context -> builds run in it
	reqs       []*received
	otherBytes int64 // bytes of requests for other actions (refused, as stock)
	otherAsked int
}

func newStockServer(t *testing.T) (*stockServer, *httptest.Server) {
	s := &stockServer{t: t, contexts: map[string]int{}}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts
}

func (s *stockServer) last() *received {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reqs) == 0 {
		s.t.Fatalf("the server got no request")
	}
	return s.reqs[len(s.reqs)-1]
}

func (s *stockServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (s *stockServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if action := path.Base(r.URL.Path); action != "build" {
		// Stock knows build and pull only.
		n, _ := io.Copy(io.Discard, r.Body)
		s.mu.Lock()
		s.otherBytes += n
		s.otherAsked++
		s.mu.Unlock()
		if s.planStatus != 0 {
			w.Header().Set("WWW-Authenticate", `Basic realm="fwbuild"`)
			http.Error(w, s.errBody, s.planStatus)
			return
		}
		http.Error(w, fmt.Sprintf("wrong action: %q", action), http.StatusBadRequest)
		return
	}
	rec := &received{path: r.URL.Path, userAgent: r.UserAgent(), contentLength: r.ContentLength, fields: map[string]string{}}
	rec.user, rec.pass, rec.hasAuth = r.BasicAuth()
	body := &countingReader{r: r.Body}
	r.Body = io.NopCloser(body)
	// Recorded when the handler returns, which is before the client sees
	// the end of the answer.
	defer func() {
		s.mu.Lock()
		s.reqs = append(s.reqs, rec)
		s.mu.Unlock()
	}()

	mr, err := r.MultipartReader()
	if err != nil {
		http.Error(w, "not a multipart request", http.StatusBadRequest)
		return
	}
	var zipData []byte
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		data, err := io.ReadAll(part)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rec.order = append(rec.order, part.FormName())
		if part.FormName() == protocol.FieldFile {
			rec.fileName, rec.fileType, zipData = part.FileName(), part.Header.Get("Content-Type"), data
			continue
		}
		if _, ok := rec.fields[part.FormName()]; !ok {
			rec.fields[part.FormName()] = string(data)
		}
	}
	rec.bodyBytes = body.n
	if s.status != 0 {
		http.Error(w, s.errBody, s.status)
		return
	}
	if name := rec.fields[protocol.FieldBuildCtx]; s.refuse[name] {
		http.Error(w, fmt.Sprintf("build_ctx %q belongs to another account: choose another name", name), http.StatusForbidden)
		return
	}
	zr, err := zip.NewReader(bytes.NewReader(zipData), int64(len(zipData)))
	if err != nil {
		http.Error(w, "bad zip: "+err.Error(), http.StatusBadRequest)
		return
	}
	for _, f := range zr.File {
		rec.zipNames = append(rec.zipNames, f.Name)
	}
	dir := s.t.TempDir()
	if _, err := archive.Extract(zr, dir, archive.ExtractOptions{}); err != nil {
		http.Error(w, "unzip: "+err.Error(), http.StatusBadRequest)
		return
	}
	rec.upload = testenv.ReadTree(s.t, dir)

	s.mu.Lock()
	name := rec.fields[protocol.FieldBuildCtx]
	_, known := s.contexts[name]
	if !protocol.ValidContextName(name) || !(known || s.asIs) {
		name = ""
	}
	if name != "" && rec.fields[protocol.FieldClean] != "" {
		delete(s.contexts, name)
		if !s.asIs {
			name = ""
		}
	}
	if name == "" {
		name = fmt.Sprintf("build_ctx_%d", rand.Uint32())
	}
	s.contexts[name]++
	builds := s.contexts[name]
	rec.context = name
	s.mu.Unlock()

	if s.rawReply != nil {
		n, _ := w.Write(s.rawReply)
		rec.sentBytes = int64(n)
		return
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	files := map[string]string{
		"build/gen/" + protocol.BuildCtxFile: name,
		"build/fw.zip":                       "firmware of " + name,
		"build/build.log":                    fmt.Sprintf("build %d in %s\n", builds, name),
		"build/gen/mgos_config.h":            "#define CONF 1\n",
	}
	for k, v := range s.extra {
		files[k] = v
	}
	for _, k := range s.omit {
		delete(files, k)
	}
	for n, c := range files {
		fw, _ := zw.Create(n)
		io.WriteString(fw, c)
	}
	zw.Close()
	if s.notice != "" {
		w.Header().Set(protocol.HeaderNotice, s.notice)
	}
	if s.fail {
		w.WriteHeader(protocol.StatusBuildFailed)
	}
	n, _ := w.Write(buf.Bytes())
	rec.sentBytes = int64(n)
}

// mustRead returns a file's content or fails.
func mustRead(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// rawZip writes entries with any name, as a hostile server could.
type rawZip struct{ zw *zip.Writer }

func newRawZip(w io.Writer) *rawZip { return &rawZip{zip.NewWriter(w)} }

func (z *rawZip) add(name, content string) {
	w, _ := z.zw.Create(name)
	io.WriteString(w, content)
}

func (z *rawZip) close() { z.zw.Close() }
