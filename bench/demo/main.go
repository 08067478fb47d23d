// Command demo is `make demo`: it starts bin/fwbuild-manager (native
// runner) on a free 127.0.0.1 port with a temporary volumes dir and builds a
// copy of examples/hello remotely three times: cold, unchanged, and with one
// source edited. It prints what each build cost, then stops the server and
// removes its temporary files.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"text/tabwriter"

	"github.com/mongoose-os/mos/bench/harness"
	"github.com/mongoose-os/mos/bench/suite"
)

func main() {
	keep := flag.Bool("keep", false, "keep the temporary dir (server log, volumes, app copy)")
	core := flag.String("core", "", "a dir holding the real Mongoose OS core and libs (mongoose-os/, libs/, modules/, as ../shared/real): build an app on it (platform ubuntu) instead of examples/hello on the host SDK")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *keep, *core); err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, keep bool, core string) error {
	root, bins, err := harness.RepoBinaries()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "mos-demo-")
	if err != nil {
		return err
	}
	if keep {
		fmt.Printf("Keeping %s\n", work)
	} else {
		defer os.RemoveAll(work)
	}
	app, args, edited, err := setUp(root, work, core)
	if err != nil {
		return err
	}

	srv, err := harness.StartServer(ctx, harness.ServerOptions{
		Manager:    bins.Manager,
		Mos:        bins.Mos,
		VolumesDir: filepath.Join(work, "volumes"),
		Runner:     "native",
		LogFile:    filepath.Join(work, "server.log"),
	})
	if err != nil {
		return err
	}
	defer srv.Stop()
	fmt.Printf("Build server (fwbuild-manager, native runner) at %s, volumes in %s\n\n", srv.URL(), filepath.Join(work, "volumes"))

	// The user's ~/.mos is left alone: the gen cache goes to the work dir.
	env := []string{"MOS_DIR=" + filepath.Join(work, "mos-home")}
	args = append([]string{"build", "--server", srv.URL()}, args...)

	type step struct {
		name   string
		before func() error
	}
	steps := []step{
		{"cold (new server context)", nil},
		{"unchanged", nil},
		{"one source edited", func() error {
			f, err := os.OpenFile(filepath.Join(app, edited), os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.WriteString("/* edited by the demo */\n")
			return err
		}},
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "build\ttime\tuploaded\tdownloaded\tfiles compiled\t")
	for _, s := range steps {
		if s.before != nil {
			if err := s.before(); err != nil {
				return err
			}
		}
		r, err := harness.Build(ctx, bins.Mos, app, env, args, srv)
		if err != nil {
			return fmt.Errorf("%s build: %w", s.name, err)
		}
		fmt.Fprintf(tw, "%s\t%.2f s\t%s\t%s\t%d\t\n", s.name, r.Seconds, harness.HumanBytes(r.BytesUp), harness.HumanBytes(r.BytesDown), r.Compiled)
	}
	tw.Flush()
	fmt.Printf("\nEach build: %s %s (in %s)\n", filepath.Base(bins.Mos), joinArgs(args), app)
	return nil
}

// setUp copies the app to build into work and returns it, the flags that
// find its core, and the source the demo edits: examples/hello on the host
// SDK, or with core an app of ours on the real core (copied: the original
// may be read-only).
func setUp(root, work, core string) (app string, args []string, edited string, err error) {
	if core == "" {
		for _, name := range []string{"hello", "sdk-host"} {
			if err := harness.CopyTree(filepath.Join(root, "examples", name), filepath.Join(work, name), "build", "deps"); err != nil {
				return "", nil, "", fmt.Errorf("copying examples/%s: %w", name, err)
			}
		}
		return filepath.Join(work, "hello"), []string{"--repo", "../sdk-host"}, filepath.Join("src", "hello.c"), nil
	}
	if _, err := os.Stat(filepath.Join(core, "mongoose-os", "platforms", "ubuntu")); err != nil {
		return "", nil, "", fmt.Errorf("CORE=%s: no real core there (want mongoose-os/, libs/, modules/ as in ../shared/real): %w", core, err)
	}
	real := filepath.Join(work, "real")
	if err := harness.CopyTree(core, real); err != nil {
		return "", nil, "", fmt.Errorf("copying %s: %w", core, err)
	}
	app = filepath.Join(work, "app")
	for name, content := range suite.RealApp {
		p := filepath.Join(app, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", nil, "", err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return "", nil, "", err
		}
	}
	fmt.Printf("An app on the real core in %s (platform ubuntu)\n", core)
	return app, suite.RealFlags(real), filepath.Join("src", "main.c"), nil
}

func joinArgs(args []string) string {
	s := ""
	for i, a := range args {
		if i > 0 {
			s += " "
		}
		s += a
	}
	return s
}
