package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra/doc"

	"github.com/mongoose-os/mos/fwbuild/config"
)

// generateMarkdown writes dir/mos*.md (one page per command, cobra's
// markdown) and dir/fwbuild-manager.md, replacing what dir held.
func generateMarkdown(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	old, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil {
		return err
	}
	for _, f := range old { // a removed command leaves no page behind
		if err := os.Remove(f); err != nil {
			return err
		}
	}
	if err := doc.GenMarkdownTree(commandTree(), dir); err != nil {
		return fmt.Errorf("markdown pages into %s: %w", dir, err)
	}
	page := filepath.Join(dir, "fwbuild-manager.md")
	if err := os.WriteFile(page, managerMarkdown(), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", page, err)
	}
	return nil
}

// managerMarkdown is the flag reference of fwbuild-manager: every flag
// config.Register binds, with its default. Defaults taken from this
// machine (CPUs, host name) are described, not printed, so the page is
// the same wherever it is made. glog's flags (--logtostderr, --v) are
// glog's and listed by name only.
func managerMarkdown() []byte {
	fs := flag.NewFlagSet("fwbuild-manager", flag.ContinueOnError)
	c := config.Default()
	c.MaxConcurrentBuilds, c.ServerName = 0, ""
	c.Register(fs)
	machine := map[string]string{
		"max-concurrent-builds": "the number of CPUs",
		"server-name":           "the host name",
	}
	var b bytes.Buffer
	b.WriteString("## fwbuild-manager\n\nThe build server. Generated from its flag set (fwbuild/config) by `make docs`; do not edit.\n\n")
	b.WriteString("```\nfwbuild-manager [flags]\n```\n\n### Options\n\n")
	b.WriteString("| flag | default | meaning |\n|---|---|---|\n")
	fs.VisitAll(func(f *flag.Flag) {
		def := f.DefValue
		if d, ok := machine[f.Name]; ok {
			def = d
		} else if def == "" {
			def = "(none)"
		} else {
			def = "`" + def + "`"
		}
		usage := strings.ReplaceAll(f.Usage, "|", `\|`)
		fmt.Fprintf(&b, "| `--%s` | %s | %s |\n", f.Name, def, usage)
	})
	b.WriteString("\nAlso glog's `--logtostderr`, `--v`, `--log_dir` and the other glog flags.\n")
	return b.Bytes()
}
