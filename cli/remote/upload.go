package remote

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/textproto"
	"os"

	"github.com/mongoose-os/mos/common/archive"
	"github.com/mongoose-os/mos/common/protocol"
)

// writeZip writes files as a zip into a new file under tempDir and returns
// its path and size. The caller removes it.
func writeZip(tempDir string, files []*upFile) (path string, size int64, err error) {
	if err := os.MkdirAll(tempDir, 0o700); err != nil {
		return "", 0, fmt.Errorf("creating temp dir: %w", err)
	}
	f, err := os.CreateTemp(tempDir, "tmp_mos_src_*.zip")
	if err != nil {
		return "", 0, fmt.Errorf("creating the source zip: %w", err)
	}
	path = f.Name()
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("writing the source zip: %w", cerr)
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<16)
	zw := archive.NewWriter(bw)
	for _, uf := range files {
		if uf.path != "" {
			err = zw.AddFileFromDisk(uf.name, uf.path, uf.mode)
		} else {
			err = zw.AddFile(uf.name, uf.mode, bytes.NewReader(uf.data))
		}
		if err != nil {
			return "", 0, fmt.Errorf("writing the source zip: %w", err)
		}
	}
	if err = zw.Close(); err != nil {
		return "", 0, fmt.Errorf("writing the source zip: %w", err)
	}
	if err = bw.Flush(); err != nil {
		return "", 0, fmt.Errorf("writing the source zip: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		return "", 0, fmt.Errorf("writing the source zip: %w", err)
	}
	return path, fi.Size(), nil
}

// formField is one text field of the request.
type formField struct {
	name, value string
	// gzip: value is gzip-compressed, sent with "Content-Encoding: gzip"
	// (only to a server that reads it: keptListings.encodeFields).
	gzip bool
}

// formFields are the text fields after the file, in stock's order:
// clean (only when cleaning), prefer_prebuilt_libs, build_params,
// build_ctx (when known), build_stat (when there is one).
func formFields(clean, preferPrebuilt bool, params []byte, buildCtx string, buildStat []byte) []formField {
	var ff []formField
	if clean {
		ff = append(ff, formField{name: protocol.FieldClean, value: "1"})
	}
	pb := "0"
	if preferPrebuilt {
		pb = "1"
	}
	ff = append(ff, formField{name: protocol.FieldPreferPrebuiltLibs, value: pb})
	ff = append(ff, formField{name: protocol.FieldBuildParams, value: string(params)})
	if buildCtx != "" {
		ff = append(ff, formField{name: protocol.FieldBuildCtx, value: buildCtx})
	}
	if buildStat != nil {
		ff = append(ff, formField{name: protocol.FieldBuildStat, value: string(buildStat)})
	}
	return ff
}

// multipartBody is a request body made of the bytes before the zip, the
// zip file, and the bytes after it, so it streams from disk with a known
// length.
type multipartBody struct {
	prefix, suffix []byte
	zipPath        string // "" for a body of text fields only
	zipSize        int64
	contentType    string
	// acceptPatch: the request says the client applies binary patches
	// (a delta build's request only: a stock server never sees it).
	acceptPatch bool
}

// zipPart is a zip file sent as a file field.
type zipPart struct {
	field, filename string
	path            string
	size            int64
}

// sourceZip is the stock "file" field.
func sourceZip(path string, size int64) *zipPart {
	return &zipPart{protocol.FieldFile, protocol.SourceZipName, path, size}
}

// newMultipartBody frames the zip (if any) as its file field, followed by
// fields.
func newMultipartBody(zp *zipPart, fields []formField) (*multipartBody, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	b := &multipartBody{contentType: mw.FormDataContentType()}
	if zp != nil {
		if _, err := mw.CreateFormFile(zp.field, zp.filename); err != nil {
			return nil, err
		}
		b.zipPath, b.zipSize = zp.path, zp.size
	}
	b.prefix = append([]byte(nil), buf.Bytes()...)
	buf.Reset()
	for _, f := range fields {
		if !f.gzip {
			if err := mw.WriteField(f.name, f.value); err != nil {
				return nil, err
			}
			continue
		}
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="`+f.name+`"`)
		h.Set("Content-Encoding", "gzip")
		w, err := mw.CreatePart(h)
		if err != nil {
			return nil, err
		}
		if _, err := io.WriteString(w, f.value); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	b.suffix = buf.Bytes()
	return b, nil
}

func (b *multipartBody) size() int64 {
	return int64(len(b.prefix)) + b.zipSize + int64(len(b.suffix))
}

// open returns a fresh reader of the whole body (the request's GetBody).
func (b *multipartBody) open() (io.ReadCloser, error) {
	if b.zipPath == "" {
		return io.NopCloser(io.MultiReader(bytes.NewReader(b.prefix), bytes.NewReader(b.suffix))), nil
	}
	f, err := os.Open(b.zipPath)
	if err != nil {
		return nil, fmt.Errorf("reopening the source zip: %w", err)
	}
	r := io.MultiReader(bytes.NewReader(b.prefix), io.LimitReader(f, b.zipSize), bytes.NewReader(b.suffix))
	return readCloser{r, f}, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}
