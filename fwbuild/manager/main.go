// Command fwbuild-manager is the remote build server: it answers stock and
// our mos clients on POST /api/fwbuild/<version>/build, keeps a build
// context per app, platform and context name under --volumes-dir, and runs
// each build as a `mos build --local` child process.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/golang/glog"

	"github.com/mongoose-os/mos/fwbuild/config"
	"github.com/mongoose-os/mos/fwbuild/server"
)

func main() {
	cfg := config.Default()
	cfg.Register(flag.CommandLine) // glog's --v and --logtostderr live here too
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "fwbuild-manager: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(os.Stderr, "fwbuild-manager: %v\n", err)
		os.Exit(2)
	}
	defer glog.Flush()
	srv, err := server.New(cfg)
	if err != nil {
		glog.Exitf("starting: %v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second signal ends the process at once
	}()
	err = srv.Run(ctx)
	if cerr := srv.Close(); cerr != nil {
		glog.Warningf("removing temp area: %v", cerr)
	}
	if err != nil {
		glog.Exitf("%v", err)
	}
}
