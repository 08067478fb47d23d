package server

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"

	"github.com/mongoose-os/mos/common/faultpoint"
	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/fwbuild/config"
)

// form is what a build request carried: the source zip, spooled to a file
// of the request's temp dir, and the text fields (first value wins, as
// stock).
type form struct {
	zipPath   string // "" when there was no file field
	zipSize   int64
	blobsPath string // delta uploads: the blobs zip, "" when none was sent
	blobsSize int64
	fields    map[string]string
}

// textFields are the fields read; others are skipped.
var textFields = map[string]bool{
	protocol.FieldClean: true, protocol.FieldPreferPrebuiltLibs: true, protocol.FieldBuildParams: true,
	protocol.FieldBuildCtx: true, protocol.FieldBuildStat: true,
	protocol.FieldPlan: true, protocol.FieldHave: true, protocol.FieldPlanInline: true,
}

// bodyLimit is the most a request body may hold.
func (s *Server) bodyLimit() int64 { return s.cfg.PayloadSizeLimit + config.FormAllowance }

// checkLength refuses, before anything is read, a body whose declared
// length is over the limit.
func (s *Server) checkLength(r *http.Request) error {
	if r.ContentLength > s.bodyLimit() {
		return errorf(http.StatusRequestEntityTooLarge,
			"request body of %d bytes is over the limit of %d bytes (--payload-size-limit %d for source.zip plus %d for the other form fields)",
			r.ContentLength, s.bodyLimit(), s.cfg.PayloadSizeLimit, config.FormAllowance)
	}
	return nil
}

// readForm streams the multipart body: the file part goes to
// <dir>/source.zip through the payload limit, text fields into memory
// (each up to config.FormAllowance). Nothing else is kept.
func (s *Server) readForm(w http.ResponseWriter, r *http.Request, dir string) (*form, error) {
	r.Body = http.MaxBytesReader(w, r.Body, s.bodyLimit())
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "not a multipart request: %w", err)
	}
	f := &form{fields: map[string]string{}}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, s.bodyError("reading multipart form", err)
		}
		name := part.FormName()
		switch {
		case name == protocol.FieldFile && f.zipPath == "":
			f.zipPath, f.zipSize, err = s.spool(part, dir, protocol.SourceZipName)
		case name == protocol.FieldBlobs && f.blobsPath == "":
			f.blobsPath, f.blobsSize, err = s.spool(part, dir, protocol.BlobsZipName)
		case textFields[name]:
			if _, seen := f.fields[name]; seen {
				_, err = io.Copy(io.Discard, part)
				break
			}
			f.fields[name], err = readTextField(part, name)
		default:
			_, err = io.Copy(io.Discard, part)
		}
		part.Close()
		if err != nil {
			return nil, s.bodyError(fmt.Sprintf("reading form field %q", name), err)
		}
	}
	return f, nil
}

// readTextField reads a text field, gzip-compressed when its part says
// so (protocol.PlanResponse.GzipFields), up to config.FormAllowance bytes
// once decompressed.
func readTextField(part *multipart.Part, name string) (string, error) {
	var r io.Reader = part
	switch enc := part.Header.Get("Content-Encoding"); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(part)
		if err != nil {
			return "", err
		}
		r = zr
	default:
		return "", errorf(http.StatusBadRequest, "form field %q: Content-Encoding %q is not supported (gzip is)", name, enc)
	}
	b, err := io.ReadAll(io.LimitReader(r, config.FormAllowance+1))
	if err != nil {
		return "", err // the caller tells the body's limit from bad data
	}
	if len(b) > config.FormAllowance {
		return "", errorf(http.StatusRequestEntityTooLarge, "form field %q is over the limit of %d bytes", name, config.FormAllowance)
	}
	return string(b), nil
}

// spool copies a file part to <dir>/<name> through the payload limit.
func (s *Server) spool(part *multipart.Part, dir, name string) (string, int64, error) {
	path := dir + string(os.PathSeparator) + name
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", 0, fmt.Errorf("spooling upload: %w", err)
	}
	limit := s.cfg.PayloadSizeLimit
	n, err := io.Copy(out, io.LimitReader(faultpoint.Reader("server.upload", part), limit+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", 0, err
	}
	if n > limit {
		return "", 0, errorf(http.StatusRequestEntityTooLarge, "%s is over the limit of %d bytes (--payload-size-limit)", name, limit)
	}
	return path, n, nil
}

// bodyError turns a failure to read the body into the error to answer:
// the body limit gives 413, a malformed body 400, our own *Error stays.
func (s *Server) bodyError(what string, err error) error {
	var se *Error
	if errors.As(err, &se) {
		return err
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errorf(http.StatusRequestEntityTooLarge, "%s: request body is over the limit of %d bytes (--payload-size-limit %d for source.zip plus %d for the other form fields)",
			what, mbe.Limit, s.cfg.PayloadSizeLimit, config.FormAllowance)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return errorf(http.StatusRequestTimeout, "%s: the request was not received within --read-timeout %v", what, s.cfg.ReadTimeout)
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", what, err) // our disk, not the client
	}
	return errorf(http.StatusBadRequest, "%s: %w", what, err)
}
