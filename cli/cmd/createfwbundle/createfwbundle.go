// Package createfwbundle implements `mos create-fw-bundle`: build or modify
// a firmware zip (fw.zip) from parts, as stock mos does: read an existing
// bundle or start empty, replace the manifest, set name, platform,
// description and build info, add, replace or remove parts (files, Intel
// HEX, fill), set attributes, sign the manifest, write the zip.
package createfwbundle

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mongoose-os/mos/cli/cmdutil"
)

// CreateFWBundleOptions are the inputs of `mos create-fw-bundle`.
type CreateFWBundleOptions struct {
	IO  *cmdutil.IOStreams
	Dir string // relative paths are taken against it (the dir after -C)

	Output, Input, Manifest string
	Name, Description       string
	Platform, Arch          string
	BuildInfo               string
	SrcDir                  string
	Compress                bool
	Attrs, ExtraAttrs       []string
	SignKeys                []string
	Parts                   []string // NAME:KEY=VALUE,... or NAME:-
}

// NewCmdCreateFWBundle returns the command; runF replaces the run in tests.
func NewCmdCreateFWBundle(f *cmdutil.Factory, runF func(*CreateFWBundleOptions) error) *cobra.Command {
	opts := &CreateFWBundleOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "create-fw-bundle -o OUT.zip [-i IN.zip] [PART ...]",
		Short: "Create or modify a firmware ZIP bundle from disparate parts",
		Long: `Create or modify a firmware ZIP bundle (what mos build writes as build/fw.zip).

It starts from --input (a bundle) or an empty one; --manifest replaces the
manifest; --name, --platform, --description and --build-info (a JSON file
with build_version, build_id and build_timestamp) set those fields. Each
PART is NAME:KEY=VALUE,... (src=FILE, addr=0x1000, type=..., fill=0xff,
size=..., any other key is kept; true/false are booleans, numbers in Go
syntax, a quoted value a string) and replaces the part NAME, or NAME:- to
remove it. A src FILE ending in .hex is read as Intel HEX and becomes one
part per block. Part files are read from --src-dir when relative.
--attr KEY=VALUE sets manifest attributes, --extra-attr KEY=VALUE goes into
the zip's extra field, and each --sign-key (an EC private key, PEM) adds a
signature sig<N> of the manifest there.`,
		Example: `  mos create-fw-bundle -i build/fw.zip -o fw-signed.zip --sign-key key.pem
  mos create-fw-bundle -o fw.zip --name app --platform esp32 --src-dir build/objs \
      boot:src=bootloader.bin,addr=0x1000 app:src=app.bin,addr=0x10000,type=app`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Output == "" {
				return cmdutil.FlagErrorf("--output is required")
			}
			wd, err := f.WorkDir()
			if err != nil {
				return err
			}
			opts.Dir = wd
			opts.Parts = args
			if runF != nil {
				return runF(opts)
			}
			return createRun(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Output, "output", "o", "", "the bundle to write (required)")
	fl.StringVarP(&opts.Input, "input", "i", "", "the bundle to start from")
	fl.StringVar(&opts.Manifest, "manifest", "", "a manifest.json replacing the bundle's")
	fl.StringVar(&opts.Name, "name", "", "firmware name")
	fl.StringVar(&opts.Platform, "platform", "", "firmware platform")
	fl.StringVar(&opts.Arch, "arch", "", "deprecated, use --platform")
	_ = fl.MarkHidden("arch")
	fl.StringVar(&opts.Description, "description", "", "firmware description")
	fl.StringVar(&opts.BuildInfo, "build-info", "", "JSON file with build_version, build_id and build_timestamp")
	fl.StringVar(&opts.SrcDir, "src-dir", "", "directory relative part files are read from")
	fl.BoolVar(&opts.Compress, "compress", false, "deflate the zip's entries (default: stored)")
	fl.StringArrayVar(&opts.Attrs, "attr", nil, "manifest attribute KEY=VALUE; repeatable")
	fl.StringArrayVar(&opts.ExtraAttrs, "extra-attr", nil, "attribute KEY=VALUE for the zip's extra field; repeatable")
	fl.StringArrayVar(&opts.SignKeys, "sign-key", nil, "EC private key (PEM) to sign the manifest with; repeatable, one signature each")
	return cmd
}

func createRun(opts *CreateFWBundleOptions) error {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(opts.Dir, p)
	}
	logf := func(format string, args ...any) { fmt.Fprintf(opts.IO.ErrOut, format+"\n", args...) }
	srcDir := opts.Dir // relative part files: --src-dir, else the work dir
	if opts.SrcDir != "" {
		srcDir = abs(opts.SrcDir)
	}

	b := &Bundle{Attrs: map[string]any{}, Parts: map[string]*Part{}}
	var inputParts map[string]*Part
	if opts.Input != "" {
		logf("Reading firmware bundle from %s", opts.Input)
		in, err := ReadZip(abs(opts.Input))
		if err != nil {
			return fmt.Errorf("--input: %w", err)
		}
		b, inputParts = in, in.Parts
	}
	if opts.Manifest != "" {
		logf("Reading manifest from %s", opts.Manifest)
		data, err := os.ReadFile(abs(opts.Manifest))
		if err != nil {
			return fmt.Errorf("--manifest: %w", err)
		}
		m, err := parseManifest(data)
		if err != nil {
			return fmt.Errorf("--manifest: %s: %w", opts.Manifest, err)
		}
		// The manifest's parts take their bytes from the input bundle
		// when it has a part of that name, else from files.
		for name, p := range m.Parts {
			if ip, ok := inputParts[name]; ok && ip.data != nil {
				p.data = ip.data
			} else if p.Src() != "" {
				p.data = fileData(srcDir, p.Src())
			}
		}
		b = m
	}
	platform := opts.Platform
	if platform == "" && opts.Arch != "" {
		platform = opts.Arch
		logf("Warning: --arch is deprecated, use --platform")
	}
	for k, v := range map[string]string{"name": opts.Name, "platform": platform, "description": opts.Description} {
		if v != "" {
			b.Attrs[k] = v
		}
	}
	if opts.BuildInfo != "" {
		if err := applyBuildInfo(b, abs(opts.BuildInfo)); err != nil {
			return fmt.Errorf("--build-info: %w", err)
		}
	}
	for _, spec := range opts.Parts {
		if err := applyPart(b, spec, srcDir, logf); err != nil {
			return err
		}
	}
	attrs, err := ParseAttrs("--attr", opts.Attrs)
	if err != nil {
		return err
	}
	for k, v := range attrs {
		if k == "parts" {
			return fmt.Errorf("--attr parts: the parts are set with PART arguments")
		}
		b.Attrs[k] = v
	}
	extra, err := ParseAttrs("--extra-attr", opts.ExtraAttrs)
	if err != nil {
		return err
	}
	var signers []crypto.Signer
	for _, key := range opts.SignKeys {
		if key == "" {
			signers = append(signers, nil) // keeps the other keys' indexes
			continue
		}
		s, err := readSigner(abs(key))
		if err != nil {
			return fmt.Errorf("--sign-key %s: %w", key, err)
		}
		signers = append(signers, s)
	}
	var buf bytes.Buffer
	if err := WriteZip(&buf, b, opts.Compress, signers, extra); err != nil {
		return fmt.Errorf("writing %s: %w", opts.Output, err)
	}
	logf("Writing %s", opts.Output)
	if err := os.WriteFile(abs(opts.Output), buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", opts.Output, err)
	}
	return nil
}

// fileData reads src, relative to srcDir.
func fileData(srcDir, src string) func() ([]byte, error) {
	return func() ([]byte, error) {
		p := src
		if !filepath.IsAbs(p) {
			p = filepath.Join(srcDir, p)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("reading part file: %w", err)
		}
		return data, nil
	}
}

func applyPart(b *Bundle, spec, srcDir string, logf func(string, ...any)) error {
	name, attrs, err := ParsePartSpec(spec)
	if err != nil {
		return err
	}
	if attrs == nil {
		if _, ok := b.Parts[name]; !ok {
			return fmt.Errorf("part %s: removing it: the bundle has no such part", name)
		}
		delete(b.Parts, name)
		logf("Removed part %s", name)
		return nil
	}
	p := &Part{Name: name, Attrs: attrs}
	if err := checkPart(p); err != nil {
		return err
	}
	// Checksums and size are the bytes' own; a spec's values would only
	// be checked against them.
	for _, k := range []string{"cs_sha1", "cs_sha256"} {
		delete(p.Attrs, k)
	}
	src := p.Src()
	if src == "" {
		b.Parts[name] = p
		return nil
	}
	if !strings.HasSuffix(src, ".hex") {
		delete(p.Attrs, "size")
		p.data = fileData(srcDir, src)
		b.Parts[name] = p
		return nil
	}
	data, err := fileData(srcDir, src)()
	if err != nil {
		return fmt.Errorf("part %s: %w", name, err)
	}
	segs, err := parseHex(data, hexFill, hexMaxGap)
	if err != nil {
		return fmt.Errorf("part %s: %s: %w", name, src, err)
	}
	for i, seg := range segs {
		hp := &Part{Name: name, Attrs: map[string]any{}}
		for k, v := range p.Attrs {
			hp.Attrs[k] = v
		}
		base := strings.TrimSuffix(src, ".hex")
		hp.Attrs["src"] = base + ".bin"
		if len(segs) > 1 {
			hp.Attrs["src"] = fmt.Sprintf("%s.%d.bin", base, i)
		}
		if i > 0 {
			hp.Name = fmt.Sprintf("%s_%d", name, i)
		}
		hp.Attrs["addr"] = int64(seg.Addr)
		segData := seg.Data
		hp.data = func() ([]byte, error) { return segData, nil }
		b.Parts[hp.Name] = hp
	}
	return nil
}

// buildInfo is the JSON of --build-info, as stock's version files.
type buildInfo struct {
	BuildID        string    `json:"build_id"`
	BuildTimestamp time.Time `json:"build_timestamp"`
	BuildVersion   string    `json:"build_version"`
}

func applyBuildInfo(b *Bundle, file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var bi buildInfo
	if err := json.Unmarshal(data, &bi); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	b.Attrs["version"] = bi.BuildVersion
	b.Attrs["build_id"] = bi.BuildID
	b.Attrs["build_timestamp"] = bi.BuildTimestamp
	return nil
}

// readSigner reads an EC private key ("EC PRIVATE KEY" PEM block, as stock
// mos reads; other blocks in the file are skipped).
func readSigner(file string) (crypto.Signer, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	seen := 0
	for {
		var blk *pem.Block
		blk, data = pem.Decode(data)
		if blk == nil {
			break
		}
		seen++
		switch blk.Type {
		case "EC PRIVATE KEY":
			if _, encrypted := blk.Headers["DEK-Info"]; encrypted {
				return nil, errors.New("the key is encrypted; this build reads unencrypted keys only (openssl ec -in KEY -out PLAIN)")
			}
			k, err := x509.ParseECPrivateKey(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("EC PRIVATE KEY: %w", err)
			}
			return k, nil
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("the key is encrypted; this build reads unencrypted keys only (openssl ec -in KEY -out PLAIN)")
		}
	}
	if seen == 0 {
		return nil, errors.New("not a PEM file")
	}
	return nil, errors.New("no EC PRIVATE KEY block")
}
