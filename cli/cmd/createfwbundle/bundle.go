package createfwbundle

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"crypto"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"
)

// manifestName is the firmware description inside fw.zip.
const manifestName = "manifest.json"

// extraFieldID tags the zip extra field of manifest.json that carries the
// --extra-attr values and signatures, as stock mos writes it.
const extraFieldID = 0x293a

// Bundle is a firmware zip being assembled: manifest attributes (name,
// platform, version, any other key) and parts. Keys are kept as read, so
// attributes this tool does not know survive a rewrite.
type Bundle struct {
	Attrs map[string]any
	Parts map[string]*Part
}

// Part is one part of the firmware: its manifest attributes (src, addr,
// size, fill, type, ...) and where its bytes come from.
type Part struct {
	Name  string
	Attrs map[string]any
	// data returns the part's bytes; nil for a part without a file
	// (a fill part).
	data func() ([]byte, error)
}

// Src is the part's file name, "" for none.
func (p *Part) Src() string {
	s, _ := p.Attrs["src"].(string)
	return s
}

// numAttrs are the part attributes stock mos reads as numbers.
var numAttrs = []string{"addr", "size", "fill", "fs_size", "fs_block_size", "fs_erase_size", "fs_page_size", "falloc"}

// boolAttrs are the part attributes stock mos reads as booleans.
var boolAttrs = []string{"flash", "encrypt"}

// checkPart refuses attribute types stock mos could not read.
func checkPart(p *Part) error {
	for _, k := range numAttrs {
		if v, ok := p.Attrs[k]; ok {
			n, isNum := number(v)
			if !isNum || n < 0 || n > math.MaxUint32 || (k == "fill" && n > 255) {
				return fmt.Errorf("part %s: %s: want a number, got %v", p.Name, k, v)
			}
		}
	}
	for _, k := range boolAttrs {
		if v, ok := p.Attrs[k]; ok {
			if _, isBool := v.(bool); !isBool {
				return fmt.Errorf("part %s: %s: want true or false, got %v", p.Name, k, v)
			}
		}
	}
	if v, ok := p.Attrs["src"]; ok {
		if _, isStr := v.(string); !isStr {
			return fmt.Errorf("part %s: src: want a file name, got %v", p.Name, v)
		}
	}
	return nil
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	case uint32:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

// ParsePartSpec reads a part argument as stock mos does:
// NAME:KEY=VALUE,... (true/false are booleans, numbers in Go syntax such as
// 0x1000 are numbers, a quoted value is a string), or NAME:- to remove it.
// It returns the name and the part's attributes, nil to remove.
func ParsePartSpec(spec string) (string, map[string]any, error) {
	name, props, ok := strings.Cut(spec, ":")
	if !ok || name == "" {
		return "", nil, fmt.Errorf("part %q: want NAME:KEY=VALUE,... or NAME:-", spec)
	}
	if props == "-" {
		return name, nil, nil
	}
	attrs := map[string]any{}
	for _, prop := range strings.Split(props, ",") {
		if prop == "" {
			break
		}
		k, v, ok := strings.Cut(prop, "=")
		if !ok || k == "" {
			return "", nil, fmt.Errorf("part %s: property %q: want KEY=VALUE", name, prop)
		}
		attrs[k] = typedValue(v, true)
	}
	return name, attrs, nil
}

// typedValue reads true, false and integers; quoted (only for part
// properties) is a string with its quotes removed.
func typedValue(v string, quotes bool) any {
	switch {
	case v == "":
		return ""
	case v == "true":
		return true
	case v == "false":
		return false
	case quotes && len(v) >= 2 && (v[0] == '\'' || v[0] == '"') && v[len(v)-1] == v[0]:
		q := string(v[0])
		return strings.ReplaceAll(v[1:len(v)-1], `\`+q, q)
	}
	bits := 64
	if quotes {
		bits = 32 // part properties are 32-bit values
	}
	if n, err := strconv.ParseInt(v, 0, bits); err == nil {
		return n
	}
	return v
}

// ParseAttrs reads --attr / --extra-attr KEY=VALUE values (true, false and
// integers typed, the rest strings).
func ParseAttrs(flag string, kvs []string) (map[string]any, error) {
	res := map[string]any{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%s %q: want KEY=VALUE", flag, kv)
		}
		res[k] = typedValue(v, false)
	}
	return res, nil
}

// ReadZip reads a firmware zip: its manifest, and each part's bytes from
// the entry named as the part's src (by base name, as stock mos finds them,
// whatever top dir the zip has). Checksums in the manifest are checked when
// a part's bytes are used.
func ReadZip(file string) (*Bundle, error) {
	zr, err := zip.OpenReader(file)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	defer zr.Close()
	blobs := map[string][]byte{}
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", file, f.Name, err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", file, f.Name, err)
		}
		blobs[path.Base(f.Name)] = data
	}
	md, ok := blobs[manifestName]
	if !ok {
		return nil, fmt.Errorf("%s: no %s in the archive", file, manifestName)
	}
	b, err := parseManifest(md)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", file, manifestName, err)
	}
	for _, p := range b.Parts {
		p := p
		if p.Src() == "" {
			continue
		}
		p.data = func() ([]byte, error) {
			data, ok := blobs[path.Base(p.Src())]
			if !ok {
				return nil, fmt.Errorf("part %s: %s not found in %s", p.Name, p.Src(), file)
			}
			return data, nil
		}
	}
	return b, nil
}

// parseManifest reads manifest.json; numbers stay exact.
func parseManifest(data []byte) (*Bundle, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, err
	}
	b := &Bundle{Attrs: raw, Parts: map[string]*Part{}}
	parts, _ := raw["parts"].(map[string]any)
	if v, ok := raw["parts"]; ok && parts == nil && v != nil {
		return nil, fmt.Errorf("parts: want an object")
	}
	delete(raw, "parts")
	for name, v := range parts {
		attrs, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("parts.%s: want an object", name)
		}
		p := &Part{Name: name, Attrs: attrs}
		if err := checkPart(p); err != nil {
			return nil, err
		}
		b.Parts[name] = p
	}
	return b, nil
}

// checkedData returns p's bytes, checked against the checksums the
// manifest has for them.
func checkedData(p *Part) ([]byte, error) {
	data, err := p.data()
	if err != nil {
		return nil, err
	}
	if want, _ := p.Attrs["cs_sha1"].(string); want != "" {
		if got := hexSum(sha1.New(), data); !strings.EqualFold(got, want) {
			return nil, fmt.Errorf("part %s: %s: SHA-1 %s does not match the manifest's %s", p.Name, p.Src(), got, want)
		}
	}
	if want, _ := p.Attrs["cs_sha256"].(string); want != "" {
		if got := hexSum(sha256.New(), data); !strings.EqualFold(got, want) {
			return nil, fmt.Errorf("part %s: %s: SHA-256 %s does not match the manifest's %s", p.Name, p.Src(), got, want)
		}
	}
	return data, nil
}

func hexSum(h interface {
	io.Writer
	Sum([]byte) []byte
}, data []byte) string {
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

// WriteZip writes the bundle as stock mos does: manifest.json first (its
// zip extra field holding extraAttrs and one signature per signer of the
// manifest's SHA-256, as sig<i>), then each part's file at the top level
// under its base name; src, size and checksums are set from the bytes.
// A nil signer leaves its index unused. Entries are deflated with compress,
// else stored.
func WriteZip(w io.Writer, b *Bundle, compress bool, signers []crypto.Signer, extraAttrs map[string]any) error {
	type file struct {
		name string
		data []byte
	}
	var files []file
	owner := map[string]string{}
	for _, name := range sortedNames(b.Parts) {
		p := b.Parts[name]
		if p.Src() == "" {
			continue
		}
		if p.data == nil {
			return fmt.Errorf("part %s: no data for %s", name, p.Src())
		}
		data, err := checkedData(p)
		if err != nil {
			return err
		}
		base := path.Base(strings.ReplaceAll(p.Src(), `\`, "/"))
		if base == manifestName {
			return fmt.Errorf("part %s: src %s would replace the manifest", name, p.Src())
		}
		if other, dup := owner[base]; dup {
			return fmt.Errorf("parts %s and %s both have a file named %s", other, name, base)
		}
		owner[base] = name
		p.Attrs["src"] = base
		p.Attrs["size"] = int64(len(data))
		p.Attrs["cs_sha1"] = hexSum(sha1.New(), data)
		p.Attrs["cs_sha256"] = hexSum(sha256.New(), data)
		files = append(files, file{base, data})
	}
	m := map[string]any{}
	for k, v := range b.Attrs {
		m[k] = v
	}
	parts := map[string]any{}
	for name, p := range b.Parts {
		parts[name] = p.Attrs
	}
	m["parts"] = parts
	md, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return fmt.Errorf("%s: %w", manifestName, err)
	}
	digest := sha256.Sum256(md)
	extra := map[string]any{}
	for k, v := range extraAttrs {
		extra[k] = v
	}
	for i, s := range signers {
		if s == nil {
			continue
		}
		sig, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
		if err != nil {
			return fmt.Errorf("signing with key %d: %w", i, err)
		}
		extra[fmt.Sprintf("sig%d", i)] = base64.StdEncoding.EncodeToString(sig)
	}
	var field []byte
	if len(extra) > 0 {
		ed, err := json.Marshal(extra)
		if err != nil {
			return fmt.Errorf("extra attributes: %w", err)
		}
		if len(ed) > math.MaxUint16-4 {
			return fmt.Errorf("extra attributes: %d bytes, the zip field holds at most %d", len(ed), math.MaxUint16-4)
		}
		field = binary.LittleEndian.AppendUint16(field, extraFieldID)
		field = binary.LittleEndian.AppendUint16(field, uint16(len(ed)))
		field = append(field, ed...)
	}
	method := zip.Store
	if compress {
		method = zip.Deflate
	}
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestCompression)
	})
	add := func(name string, data []byte, extra []byte) error {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method, Extra: extra})
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		_, err = fw.Write(data)
		return err
	}
	if err := add(manifestName, md, field); err != nil {
		return err
	}
	for _, f := range files {
		if err := add(f.name, f.data, nil); err != nil {
			return err
		}
	}
	return zw.Close()
}

func sortedNames(parts map[string]*Part) []string {
	names := make([]string, 0, len(parts))
	for n := range parts {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
