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
)

func main() {
	keep := flag.Bool("keep", false, "keep the temporary dir (server log, volumes, app copy)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *keep); err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, keep bool) error {
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
	for _, name := range []string{"hello", "sdk-host"} {
		if err := harness.CopyTree(filepath.Join(root, "examples", name), filepath.Join(work, name), "build", "deps"); err != nil {
			return fmt.Errorf("copying examples/%s: %w", name, err)
		}
	}
	app := filepath.Join(work, "hello")

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
	args := []string{"build", "--server", srv.URL(), "--repo", "../sdk-host"}

	type step struct {
		name   string
		before func() error
	}
	steps := []step{
		{"cold (new server context)", nil},
		{"unchanged", nil},
		{"one source edited", func() error {
			f, err := os.OpenFile(filepath.Join(app, "src", "hello.c"), os.O_APPEND|os.O_WRONLY, 0)
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
