// Package fwbundle reads what mos needs from a firmware zip (build/fw.zip):
// the manifest.json describing the firmware.
package fwbundle

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"time"
)

// Manifest is the part of a firmware's manifest.json that mos reads.
type Manifest struct {
	Name           string                    `json:"name"`
	Platform       string                    `json:"platform"`
	Description    string                    `json:"description,omitempty"`
	Version        string                    `json:"version"`
	BuildID        string                    `json:"build_id"`
	BuildTimestamp *time.Time                `json:"build_timestamp,omitempty"`
	Parts          map[string]map[string]any `json:"parts"`
}

// maxManifestSize bounds what is read of manifest.json.
const maxManifestSize = 4 << 20

// Read opens the firmware zip at file and returns its manifest. Entries are
// found by base name, as upstream does (the zip has a <name>-<version>/ top
// dir).
func Read(file string) (*Manifest, error) {
	zr, err := zip.OpenReader(file)
	if err != nil {
		return nil, fmt.Errorf("reading firmware %s: %w", file, err)
	}
	defer zr.Close()
	var mf *zip.File
	for _, f := range zr.File {
		if path.Base(f.Name) == "manifest.json" {
			mf = f // later duplicates win, as upstream
		}
	}
	if mf == nil {
		return nil, fmt.Errorf("reading firmware %s: no manifest.json", file)
	}
	rc, err := mf.Open()
	if err != nil {
		return nil, fmt.Errorf("reading firmware %s: %w", file, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxManifestSize))
	if err != nil {
		return nil, fmt.Errorf("reading firmware %s: manifest.json: %w", file, err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("reading firmware %s: manifest.json: %w", file, err)
	}
	return &m, nil
}
