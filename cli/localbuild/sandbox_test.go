package localbuild

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/cli/genfiles"
	"github.com/mongoose-os/mos/cli/manifest"
	"github.com/mongoose-os/mos/cli/runner"
	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/common/testenv"
)

// sandboxed is a build of a copy of examples/hello confined to the dir
// holding it and the SDK, with make sandboxed by runnerName, plus a dir
// outside holding secret.h. Make sees the context at /mos/ctx, as in the
// server's sandbox.
func sandboxed(t *testing.T, runnerName string) (req *Request, outside string) {
	t.Helper()
	testenv.RequireTool(t, "make")
	app, sdk := testenv.Examples(t)
	ctx := filepath.Dir(app)
	c, err := manifest.NewConfinement(ctx)
	if err != nil {
		t.Fatal(err)
	}
	req = request(app, sdk)
	req.Runner = runnerName
	req.Confine = c
	req.Sandbox = &runner.Sandbox{Writable: c.Dirs(), PIDs: 256, Memory: "1g", Root: protocol.SandboxContextRoot}
	switch runnerName {
	case "native":
		if err := req.Sandbox.CheckBwrap(); err != nil {
			t.Skipf("no bwrap sandbox here (install bubblewrap): %v", err)
		}
	case "docker":
		sdkImage(t, sdk)
	}
	outside = t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret.h"), []byte("#error LEAKED_SECRET_42\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return req, outside
}

func buildLog(t *testing.T, req *Request) (string, error) {
	t.Helper()
	var log bytes.Buffer
	req.Log = &log
	_, err := Build(context.Background(), req)
	return log.String(), err
}

func appendFile(t *testing.T, p, text string) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

func TestSandbox(t *testing.T) {
	for _, rn := range []string{"native", "docker"} {
		t.Run(rn, func(t *testing.T) {
			t.Run("builds", func(t *testing.T) {
				req, _ := sandboxed(t, rn)
				log, err := buildLog(t, req)
				if err != nil {
					t.Fatalf("sandboxed build failed: %v\n%s", err, log)
				}
				if _, err := os.Stat(filepath.Join(req.AppDir, "build", "fw.zip")); err != nil {
					t.Errorf("no firmware: %v", err)
				}
				if want := " -C " + protocol.SandboxContextRoot + "/" + filepath.Base(req.AppDir) + " "; !strings.Contains(log, want) {
					t.Errorf("make did not run in the context at %s (%q):\n%s", protocol.SandboxContextRoot, want, log)
				}
			})
			t.Run("host file in filesystem", func(t *testing.T) {
				req, outside := sandboxed(t, rn)
				appendFile(t, filepath.Join(req.AppDir, "mos.yml"), "\nfilesystem: [fs, /etc/hostname, "+filepath.Join(outside, "secret.h")+"]\n")
				log, err := buildLog(t, req)
				var ce *manifest.ConfineError
				if !errors.As(err, &ce) || !strings.Contains(err.Error(), "mos.yml: filesystem[1]: /etc/hostname is outside the build context") {
					t.Fatalf("err = %v, want the confinement refusal\n%s", err, log)
				}
			})
			t.Run("include of a host file", func(t *testing.T) {
				req, outside := sandboxed(t, rn)
				src := filepath.Join(req.AppDir, "src", "leak.c")
				code := fmt.Sprintf("#include %q\n#include \"/etc/hostname\"\nint leak;\n", filepath.Join(outside, "secret.h"))
				if err := os.WriteFile(src, []byte(code), 0o644); err != nil {
					t.Fatal(err)
				}
				log, err := buildLog(t, req)
				if !errors.Is(err, runner.ErrMakeFailed) {
					t.Fatalf("err = %v, want make to fail\n%s", err, log)
				}
				if strings.Contains(log, "LEAKED_SECRET_42") || !strings.Contains(log, "secret.h") {
					t.Errorf("the host file was read (or the log does not say why the build failed):\n%s", log)
				}
			})
			t.Run("makefile writes outside", func(t *testing.T) {
				req, outside := sandboxed(t, rn)
				mk := filepath.Join(req.Params.CustomModuleLocations["mongoose-os"], "platforms", "host", "Makefile.build")
				victim := filepath.Join(outside, "pwned")
				sibling := filepath.Join(filepath.Dir(filepath.Dir(req.AppDir)), "pwned")
				appendFile(t, mk, fmt.Sprintf("\n$(shell echo x > %s; echo x > %s; echo x > /tmp/mos-sandbox-pwned-%d)\n", victim, sibling, os.Getpid()))
				log, err := buildLog(t, req)
				if err != nil {
					t.Logf("build: %v", err)
				}
				for _, p := range []string{victim, sibling, fmt.Sprintf("/tmp/mos-sandbox-pwned-%d", os.Getpid())} {
					if _, err := os.Stat(p); err == nil {
						os.Remove(p)
						t.Errorf("the makefile wrote %s\n%s", p, log)
					}
				}
			})
			t.Run("no network", func(t *testing.T) {
				testenv.RequireTool(t, "python3")
				req, _ := sandboxed(t, rn)
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				port := ln.Addr().(*net.TCPAddr).Port
				mk := filepath.Join(req.Params.CustomModuleLocations["mongoose-os"], "platforms", "host", "Makefile.build")
				appendFile(t, mk, fmt.Sprintf("\n$(shell python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", %d), 2)')\n", port))
				if log, err := buildLog(t, req); err != nil {
					t.Logf("build: %v\n%s", err, log)
				}
				// A connection made during the build waits in the backlog,
				// ahead of one made now: accept until ours comes.
				probe, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				defer probe.Close()
				for {
					c, err := ln.Accept()
					if err != nil {
						t.Fatal(err)
					}
					from := c.RemoteAddr().String()
					c.Close()
					if from == probe.LocalAddr().String() {
						break
					}
					t.Errorf("make reached 127.0.0.1:%d from the sandbox (connection from %s)", port, from)
				}
			})
		})
	}
}

// Each attack value in each field: nothing runs, and what reaches the
// compiler is the text as written (a string cdef, visible in the object).
func TestValuesAreLiteral(t *testing.T) {
	testenv.RequireTool(t, "make")
	app, sdk := testenv.Examples(t)
	marker := filepath.Join(t.TempDir(), "ran")
	attack := "1 $(shell touch " + marker + ") `touch " + marker + "` $(MGOS_PATH) $(touch " + marker + ")"
	if err := os.WriteFile(filepath.Join(app, "src", "literal.c"), []byte(
		"#define STR_(x) #x\n#define STR(x) STR_(x)\n"+
			"const char literal_cdef[] = \"CDEF<\" STR(ATTACK) \">\";\n"+
			"const char literal_cflag[] = \"CFLAG<\" STR(FLAG) \">\";\n"+
			"const char literal_param[] = \"PARAM<\" STR(PARAM) \">\";\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	appendFile(t, filepath.Join(app, "mos.yml"), fmt.Sprintf("\ncflags: [%q]\n", "-DFLAG="+strings.ReplaceAll(attack, " ", `\ `)))
	mf := filepath.Join(app, "mos.yml")
	data, _ := os.ReadFile(mf)
	os.WriteFile(mf, bytes.Replace(data, []byte("  HELLO_ON_HOST: 0\n"), []byte(fmt.Sprintf("  HELLO_ON_HOST: 0\n  ATTACK: %q\n", attack)), 1), 0o644)
	req := request(app, sdk)
	req.Params.CDefs = map[string]string{"PARAM": attack}
	req.Params.CFlags = []string{"-Wno-error"}
	log, err := buildLog(t, req)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, log)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatalf("a value ran a command (%s exists)", marker)
	}
	// The host SDK puts an object at <objs>/<absolute source path>.o.
	obj := filepath.Join(app, "build", "objs", app, "src", "literal.c.o")
	o, _ := os.ReadFile(obj)
	for _, want := range []string{"CDEF<" + attack + ">", "CFLAG<" + attack + ">", "PARAM<" + attack + ">"} {
		if !bytes.Contains(o, []byte(want)) {
			t.Errorf("object lacks %q", want)
		}
	}

	// Build vars: a make function or a backtick is refused, naming it; a
	// plain make variable reference is kept for make.
	for _, bad := range []string{"$(shell touch " + marker + ")", "`touch " + marker + "`"} {
		req := request(app, sdk)
		req.Params.BuildVars["EVIL"] = bad
		_, err := buildLog(t, req)
		if !errors.Is(err, genfiles.ErrUnsafeValue) || !strings.Contains(err.Error(), "build_vars.EVIL") {
			t.Errorf("build var %q: err = %v, want a refusal", bad, err)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatalf("a build var ran a command")
	}
	req = request(app, sdk)
	req.Params.BuildVars["FROM_MAKE"] = "$(MGOS_PATH)/x"
	req.Params.DryRun = true
	if log, err := buildLog(t, req); err != nil {
		t.Fatalf("dry run: %v\n%s", err, log)
	}
	vars, _ := os.ReadFile(filepath.Join(app, "build", "gen", "vars.mk"))
	if !bytes.Contains(vars, []byte("\nFROM_MAKE=$(MGOS_PATH)/x\n")) {
		t.Errorf("vars.mk:\n%s", vars)
	}
}
