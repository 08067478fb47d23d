package createfwbundle

import (
	"archive/zip"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/cli/cmdutil"
	"github.com/mongoose-os/mos/common/testenv"
)

// unzipped is what a test reads back from a written bundle.
type unzipped struct {
	manifestRaw []byte
	manifest    map[string]any
	files       map[string][]byte
	order       []string
	extra       map[string]any
}

func readBack(t *testing.T, file string) unzipped {
	t.Helper()
	zr, err := zip.OpenReader(file)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	u := unzipped{files: map[string][]byte{}}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		u.files[f.Name] = data
		u.order = append(u.order, f.Name)
		if f.Name == "manifest.json" && len(f.Extra) > 0 {
			if id := binary.LittleEndian.Uint16(f.Extra); id != 0x293a {
				t.Fatalf("extra field id %#x", id)
			}
			n := binary.LittleEndian.Uint16(f.Extra[2:])
			if err := json.Unmarshal(f.Extra[4:4+n], &u.extra); err != nil {
				t.Fatalf("extra field: %v", err)
			}
		}
	}
	u.manifestRaw = u.files["manifest.json"]
	if err := json.Unmarshal(u.manifestRaw, &u.manifest); err != nil {
		t.Fatalf("manifest.json: %v\n%s", err, u.manifestRaw)
	}
	return u
}

func (u unzipped) part(t *testing.T, name string) map[string]any {
	t.Helper()
	p, ok := u.manifest["parts"].(map[string]any)[name].(map[string]any)
	if !ok {
		t.Fatalf("no part %s in %s", name, u.manifestRaw)
	}
	return p
}

func sums(data []byte) (string, string) {
	a, b := sha1.Sum(data), sha256.Sum256(data)
	return hex.EncodeToString(a[:]), hex.EncodeToString(b[:])
}

func run(t *testing.T, dir string, opts *CreateFWBundleOptions) (string, error) {
	t.Helper()
	io, _, _, errOut := cmdutil.Test()
	opts.IO, opts.Dir = io, dir
	err := createRun(opts)
	return errOut.String(), err
}

// A HEX file with two blocks 16 bytes apart (filled) and one far away.
const testHex = ":0400000001020304F2\n" + // 4 bytes at 0x0000
	":020014000506DF\n" + // 2 bytes at 0x0014: a gap of 16, filled with 0xff
	":020000040001F9\n" + // linear base 0x00010000
	":02000000AABB99\n" + // 2 bytes at 0x10000: a new part
	":00000001FF\n"

func TestCreateFromParts(t *testing.T) {
	dir := t.TempDir()
	testenv.WriteTree(t, dir, testenv.Tree{
		"objs/boot.bin": {Content: "BOOT"},
		"objs/app.bin":  {Content: "APPLICATION"},
		"objs/ext.hex":  {Content: testHex},
		"info.json":     {Content: `{"build_id":"20240102-030405/fork@abc","build_timestamp":"2024-01-02T03:04:05Z","build_version":"1.2.3"}`},
	})
	log, err := run(t, dir, &CreateFWBundleOptions{
		Output: "fw.zip", Name: "app", Platform: "esp32", Description: "demo",
		BuildInfo: "info.json", SrcDir: "objs",
		Attrs:      []string{"team=core", "rev=7", "beta=true"},
		ExtraAttrs: []string{"ci_job=42"},
		Parts: []string{
			"boot:src=boot.bin,addr=0x1000,type=boot",
			"app:src=app.bin,addr=0x10000,encrypt=true,ptn='app 0',cs_sha1=0000",
			"nvs:type=nvs,fill=0xff,size=0x3000,addr=0x9000",
			"ext:src=ext.hex,type=ext",
		},
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	u := readBack(t, filepath.Join(dir, "fw.zip"))
	if u.order[0] != "manifest.json" {
		t.Errorf("manifest.json must come first: %v", u.order)
	}
	for k, want := range map[string]any{"name": "app", "platform": "esp32", "description": "demo",
		"version": "1.2.3", "build_id": "20240102-030405/fork@abc", "build_timestamp": "2024-01-02T03:04:05Z",
		"team": "core", "rev": 7.0, "beta": true} {
		if got := u.manifest[k]; got != want {
			t.Errorf("manifest %s = %#v, want %#v", k, got, want)
		}
	}
	s1, s256 := sums([]byte("APPLICATION"))
	app := u.part(t, "app")
	want := map[string]any{"src": "app.bin", "addr": 65536.0, "encrypt": true, "ptn": "app 0",
		"size": 11.0, "cs_sha1": s1, "cs_sha256": s256}
	if !reflect.DeepEqual(app, want) {
		t.Errorf("part app = %v, want %v", app, want)
	}
	if string(u.files["app.bin"]) != "APPLICATION" || string(u.files["boot.bin"]) != "BOOT" {
		t.Errorf("files %v", u.order)
	}
	if nvs := u.part(t, "nvs"); nvs["fill"] != 255.0 || nvs["size"] != 12288.0 || nvs["src"] != nil {
		t.Errorf("fill part %v", nvs)
	}
	if _, ok := u.files["nvs"]; ok || len(u.files) != 5 {
		t.Errorf("want manifest + boot, app and two hex files, got %v", u.order)
	}
	ext0 := u.part(t, "ext")
	if ext0["src"] != "ext.0.bin" || ext0["addr"] != 0.0 || ext0["type"] != "ext" {
		t.Errorf("hex part 0 %v", ext0)
	}
	wantHex0 := append([]byte{1, 2, 3, 4}, bytes.Repeat([]byte{0xff}, 16)...)
	wantHex0 = append(wantHex0, 5, 6)
	if !bytes.Equal(u.files["ext.0.bin"], wantHex0) {
		t.Errorf("hex block 0 = %x, want %x", u.files["ext.0.bin"], wantHex0)
	}
	if ext1 := u.part(t, "ext_1"); ext1["src"] != "ext.1.bin" || ext1["addr"] != 65536.0 || !bytes.Equal(u.files["ext.1.bin"], []byte{0xaa, 0xbb}) {
		t.Errorf("hex part 1 %v %x", ext1, u.files["ext.1.bin"])
	}
	if u.extra["ci_job"] != 42.0 || len(u.extra) != 1 {
		t.Errorf("extra attrs %v", u.extra)
	}
}

// fwZip writes a bundle shaped as mos build writes it: a top dir, files in
// it, a manifest with checksums and keys this tool does not know.
func fwZip(t *testing.T, file string, badSum bool) {
	t.Helper()
	boot, app := []byte("BOOT"), []byte("APP")
	bs1, bs256 := sums(boot)
	as1, as256 := sums(app)
	if badSum {
		as1 = strings.Repeat("0", 40)
	}
	m := map[string]any{
		"name": "hello", "platform": "host", "version": "1.0", "build_id": "b1",
		"vendor_key": map[string]any{"x": 1},
		"parts": map[string]any{
			"boot": map[string]any{"src": "boot.bin", "addr": 4096, "size": 4, "cs_sha1": bs1, "cs_sha256": bs256, "custom": "keep me"},
			"app":  map[string]any{"src": "hello.bin", "addr": 65536, "size": 3, "cs_sha1": as1, "cs_sha256": as256},
		},
	}
	md, _ := json.Marshal(m)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, data := range map[string][]byte{"hello-1.0/manifest.json": md, "hello-1.0/boot.bin": boot, "hello-1.0/hello.bin": app} {
		w, _ := zw.Create(name)
		w.Write(data)
	}
	zw.Close()
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestModifyExistingBundle(t *testing.T) {
	dir := t.TempDir()
	fwZip(t, filepath.Join(dir, "in.zip"), false)
	testenv.WriteTree(t, dir, testenv.Tree{"new-app.bin": {Content: "NEWAPP"}})
	log, err := run(t, dir, &CreateFWBundleOptions{
		Input: "in.zip", Output: "out.zip", Compress: true,
		Parts: []string{"boot:-", "app:src=new-app.bin,addr=0x20000"},
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	u := readBack(t, filepath.Join(dir, "out.zip"))
	if u.manifest["name"] != "hello" || u.manifest["vendor_key"] == nil {
		t.Errorf("manifest lost attributes: %s", u.manifestRaw)
	}
	if _, ok := u.manifest["parts"].(map[string]any)["boot"]; ok {
		t.Errorf("boot not removed: %s", u.manifestRaw)
	}
	if app := u.part(t, "app"); app["src"] != "new-app.bin" || app["addr"] != 131072.0 || string(u.files["new-app.bin"]) != "NEWAPP" {
		t.Errorf("app not replaced: %v %v", app, u.order)
	}
	if !strings.Contains(log, "Reading firmware bundle from in.zip") || !strings.Contains(log, "Writing out.zip") {
		t.Errorf("log:\n%s", log)
	}

	// Unchanged parts keep their bytes and unknown keys, now at the top level.
	_, err = run(t, dir, &CreateFWBundleOptions{Input: "in.zip", Output: "same.zip", Name: "renamed"})
	if err != nil {
		t.Fatal(err)
	}
	u = readBack(t, filepath.Join(dir, "same.zip"))
	if boot := u.part(t, "boot"); boot["custom"] != "keep me" || string(u.files["boot.bin"]) != "BOOT" || u.manifest["name"] != "renamed" {
		t.Errorf("boot %v files %v name %v", boot, u.order, u.manifest["name"])
	}
}

func TestInputChecksumMismatch(t *testing.T) {
	dir := t.TempDir()
	fwZip(t, filepath.Join(dir, "in.zip"), true)
	_, err := run(t, dir, &CreateFWBundleOptions{Input: "in.zip", Output: "out.zip"})
	if err == nil || !strings.Contains(err.Error(), "part app") || !strings.Contains(err.Error(), "SHA-1") {
		t.Errorf("err = %v", err)
	}
	if _, statErr := os.Stat(filepath.Join(dir, "out.zip")); statErr == nil {
		t.Error("a failed run must not write the output")
	}
}

func TestSignatures(t *testing.T) {
	dir := t.TempDir()
	keys := make([]*ecdsa.PrivateKey, 2)
	for i := range keys {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		keys[i] = k
		der, _ := x509.MarshalECPrivateKey(k)
		pemData := pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7}})
		pemData = append(pemData, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})...)
		if err := os.WriteFile(filepath.Join(dir, "key"+string(rune('0'+i))+".pem"), pemData, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	testenv.WriteTree(t, dir, testenv.Tree{"a.bin": {Content: "A"}})
	_, err := run(t, dir, &CreateFWBundleOptions{
		Output: "fw.zip", Parts: []string{"a:src=a.bin"},
		SignKeys: []string{"key0.pem", "", "key1.pem"},
	})
	if err != nil {
		t.Fatal(err)
	}
	u := readBack(t, filepath.Join(dir, "fw.zip"))
	digest := sha256.Sum256(u.manifestRaw)
	for i, k := range map[string]*ecdsa.PrivateKey{"sig0": keys[0], "sig2": keys[1]} {
		s, _ := u.extra[i].(string)
		sig, err := base64.StdEncoding.DecodeString(s)
		if err != nil || !ecdsa.VerifyASN1(&k.PublicKey, digest[:], sig) {
			t.Errorf("%s does not verify over manifest.json (%q, %v)", i, s, err)
		}
	}
	if _, ok := u.extra["sig1"]; ok {
		t.Errorf("an empty --sign-key must leave its index unused: %v", u.extra)
	}

	if err := os.WriteFile(filepath.Join(dir, "not.pem"), []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = run(t, dir, &CreateFWBundleOptions{Output: "x.zip", SignKeys: []string{"not.pem"}})
	if err == nil || !strings.Contains(err.Error(), "--sign-key not.pem: not a PEM file") {
		t.Errorf("err = %v", err)
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	testenv.WriteTree(t, dir, testenv.Tree{"a.bin": {Content: "A"}, "b/a.bin": {Content: "B"}, "bad.hex": {Content: ":0400000001020304F3\n:00000001FF\n"}})
	for _, tc := range []struct {
		opts CreateFWBundleOptions
		want string
	}{
		{CreateFWBundleOptions{Parts: []string{"noprops"}}, `part "noprops": want NAME:KEY=VALUE`},
		{CreateFWBundleOptions{Parts: []string{"a:src"}}, `part a: property "src": want KEY=VALUE`},
		{CreateFWBundleOptions{Parts: []string{"a:addr=high"}}, "part a: addr: want a number"},
		{CreateFWBundleOptions{Parts: []string{"a:-"}}, "part a: removing it: the bundle has no such part"},
		{CreateFWBundleOptions{Parts: []string{"a:src=missing.bin"}}, "missing.bin"},
		{CreateFWBundleOptions{Parts: []string{"a:src=a.bin", "b:src=b/a.bin"}}, "parts a and b both have a file named a.bin"},
		{CreateFWBundleOptions{Parts: []string{"h:src=bad.hex"}}, "part h: bad.hex: line 1: bad checksum"},
		{CreateFWBundleOptions{Input: "none.zip"}, "--input: "},
		{CreateFWBundleOptions{Attrs: []string{"novalue"}}, `--attr "novalue": want KEY=VALUE`},
	} {
		tc.opts.Output = "out.zip"
		_, err := run(t, dir, &tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want %q", tc.opts.Parts, err, tc.want)
		}
	}
}

func TestParsePartSpec(t *testing.T) {
	name, attrs, err := ParsePartSpec(`fs:src=fs.img,addr=0x8000,flash=false,empty=,big=0x1ffffffff`)
	if err != nil || name != "fs" {
		t.Fatalf("ParsePartSpec: %q %v", name, err)
	}
	if attrs["src"] != "fs.img" || attrs["addr"] != int64(0x8000) || attrs["flash"] != false || attrs["empty"] != "" {
		t.Errorf("attrs %#v", attrs)
	}
	if attrs["big"] != "0x1ffffffff" {
		t.Errorf("a value over 32 bits stays a string: %#v", attrs["big"])
	}
	_, attrs, _ = ParsePartSpec(`x:q='it\'s',d="say \"hi\""`)
	if attrs["q"] != "it's" || attrs["d"] != `say "hi"` {
		t.Errorf("quoted %#v", attrs)
	}
	// A comma splits properties even inside quotes, as in stock mos.
	if _, _, err := ParsePartSpec(`x:label="a,b"`); err == nil {
		t.Error(`a comma inside quotes must split (and b" is not KEY=VALUE)`)
	}
	if name, attrs, err := ParsePartSpec("old:-"); name != "old" || attrs != nil || err != nil {
		t.Errorf("removal: %q %v %v", name, attrs, err)
	}
}

func TestNewCmdCreateFWBundle(t *testing.T) {
	f := cmdutil.New()
	f.WorkDir = func() (string, error) { return "/work", nil }
	var got *CreateFWBundleOptions
	cmd := NewCmdCreateFWBundle(f, func(o *CreateFWBundleOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"-i", "in.zip", "-o", "out.zip", "--sign-key", "k1", "--sign-key", "k2", "--attr", "a=1", "p:src=x"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Input != "in.zip" || got.Output != "out.zip" || len(got.SignKeys) != 2 || got.Parts[0] != "p:src=x" || got.Dir != "/work" {
		t.Errorf("options %+v", got)
	}
	cmd = NewCmdCreateFWBundle(f, func(o *CreateFWBundleOptions) error { return nil })
	cmd.SetArgs([]string{"-i", "in.zip"})
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "--output is required") {
		t.Errorf("err = %v", err)
	}
}
