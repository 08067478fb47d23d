package remote

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/common/protocol"
)

// A delta build's large text fields go gzip-compressed (a part with
// Content-Encoding: gzip) to a server whose plan answer said GzipFields,
// small ones plain; a server that did not say so gets every field plain.
func TestFieldsCompressedWhereTheServerReadsThem(t *testing.T) {
	var have []protocol.HaveEntry
	for i := 0; i < 200; i++ {
		have = append(have, protocol.HaveEntry{Path: "objs/f" + strings.Repeat("x", i%7) + ".o", SHA256: strings.Repeat("ab", 32)})
	}
	haveJSON, _ := json.Marshal(have)
	fields := []formField{{name: protocol.FieldBuildCtx, value: "main"}, {name: protocol.FieldHave, value: string(haveJSON)}}

	for _, gz := range []bool{false, true} {
		k := &keptListings{}
		k.planAnswered(nil, &protocol.PlanResponse{GzipFields: gz})
		body, err := newMultipartBody(nil, k.encodeFields(fields))
		if err != nil {
			t.Fatal(err)
		}
		_, params, _ := mime.ParseMediaType(body.contentType)
		mr := multipart.NewReader(bytes.NewReader(append(body.prefix, body.suffix...)), params["boundary"])
		got := map[string]string{}
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			var r io.Reader = p
			enc := p.Header.Get("Content-Encoding")
			if enc == "gzip" {
				if r, err = gzip.NewReader(p); err != nil {
					t.Fatal(err)
				}
			}
			b, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			got[p.FormName()] = string(b)
			wantEnc := ""
			if gz && p.FormName() == protocol.FieldHave {
				wantEnc = "gzip"
			}
			if enc != wantEnc {
				t.Errorf("server says GzipFields=%v: field %s has Content-Encoding %q, want %q", gz, p.FormName(), enc, wantEnc)
			}
		}
		if got[protocol.FieldHave] != string(haveJSON) || got[protocol.FieldBuildCtx] != "main" {
			t.Errorf("GzipFields=%v: fields read back differ", gz)
		}
		if gz && body.size() >= int64(len(haveJSON)) {
			t.Errorf("compressed body of %d bytes, the have listing alone is %d", body.size(), len(haveJSON))
		}
	}

	// The server's word is kept with the listings, for the builds whose
	// plan goes inside the build request (no plan answer).
	dir := t.TempDir()
	k := &keptListings{file: filepath.Join(dir, "kept.json")}
	k.planAnswered(nil, &protocol.PlanResponse{Inline: true, GzipFields: true})
	if err := k.save(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(k.file)
	var back keptListings
	if err := json.Unmarshal(data, &back); err != nil || !back.GzipFields {
		t.Errorf("kept listings saved as %s: GzipFields lost", data)
	}
}
