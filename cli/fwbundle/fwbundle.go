// Package fwbundle reads what mos needs from a firmware zip (build/fw.zip):
// the manifest.json describing the firmware.
package fwbundle

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"sort"
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
	if err := checkParts(m.Parts); err != nil {
		return nil, fmt.Errorf("reading firmware %s: manifest.json: %w", file, err)
	}
	return &m, nil
}

// checkParts refuses what stock mos cannot read: it decodes every part's
// src into a string, so a firmware that names anything else there (an
// object of files, say) builds here but fails in stock's flash and
// bundle commands.
func checkParts(parts map[string]map[string]any) error {
	names := make([]string, 0, len(parts))
	for n := range parts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if src, ok := parts[n]["src"]; ok {
			if _, isString := src.(string); !isString {
				return fmt.Errorf("parts.%s.src is a %s, stock mos reads a file name there", n, jsonKind(src))
			}
		}
	}
	return nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "JSON object"
	case []any:
		return "JSON array"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}
