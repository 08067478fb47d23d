package stock

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/cli/cmdutil"
)

func TestTakeStockMosFlag(t *testing.T) {
	for _, tc := range []struct {
		in       []string
		rest     []string
		stockMos string
	}{
		{[]string{"--port", "/dev/x", "fw.zip"}, []string{"--port", "/dev/x", "fw.zip"}, ""},
		{[]string{"--stock-mos", "/opt/mos", "--port", "x"}, []string{"--port", "x"}, "/opt/mos"},
		{[]string{"a", "--stock-mos=/opt/mos"}, []string{"a"}, "/opt/mos"},
		{[]string{"--", "--stock-mos", "x"}, []string{"--", "--stock-mos", "x"}, ""},
	} {
		rest, p, err := takeStockMosFlag(tc.in)
		if err != nil || !reflect.DeepEqual(rest, tc.rest) || p != tc.stockMos {
			t.Errorf("%q: rest %q path %q err %v", tc.in, rest, p, err)
		}
	}
	if _, _, err := takeStockMosFlag([]string{"--stock-mos"}); err == nil {
		t.Error("--stock-mos without a value must fail")
	}
}

func exe(t *testing.T, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFindOrder(t *testing.T) {
	dir := t.TempDir()
	flagMos, envMos, pathMos := exe(t, dir, "a"), exe(t, dir, "b"), exe(t, dir, "c")
	env := map[string]string{}
	opts := &Options{
		Getenv: func(k string) string { return env[k] },
		LookPath: func(name string) (string, error) {
			if name == PathBinary && pathMos != "" {
				return pathMos, nil
			}
			return "", errors.New("not found")
		},
	}
	check := func(want string) {
		t.Helper()
		got, err := Find(opts)
		if err != nil || got != want {
			t.Errorf("Find = %q, %v; want %q", got, err, want)
		}
	}
	check(pathMos)
	env[EnvVar] = envMos
	check(envMos)
	opts.StockMos = flagMos
	check(flagMos)
	opts.StockMos, env[EnvVar], pathMos = "", "", ""
	check("")

	opts.StockMos = filepath.Join(dir, "missing")
	if _, err := Find(opts); err == nil || !strings.Contains(err.Error(), "missing (from --stock-mos): no such file") {
		t.Errorf("err = %v", err)
	}
	opts.StockMos = flagMos
	opts.Self = func() (string, error) { return flagMos, nil }
	if _, err := Find(opts); err == nil || !strings.Contains(err.Error(), "is this mos itself") {
		t.Errorf("running ourselves must be refused, err = %v", err)
	}
}

func TestNotConfigured(t *testing.T) {
	io, _, _, _ := cmdutil.Test()
	opts := &Options{
		IO: io, Command: "flash", Getenv: func(string) string { return "" },
		LookPath: func(string) (string, error) { return "", errors.New("not found") },
		Environ:  os.Environ,
	}
	err := stockRun(context.Background(), opts)
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{`"mos flash" is a stock mos command`, "does firmware builds", StockURL, "--stock-mos", EnvVar, PathBinary} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q: %v", want, err)
		}
	}
}

// fakeStockMos writes a script that records its arguments and stdin, prints
// to both streams and exits with code.
func fakeStockMos(t *testing.T, code string) (bin, argsFile string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the fake stock mos is a shell script")
	}
	dir := t.TempDir()
	argsFile = filepath.Join(dir, "args")
	script := "#!/bin/sh\n" +
		"for a in \"$@\"; do printf '%s\\n' \"$a\"; done > '" + argsFile + "'\n" +
		"cat > '" + argsFile + ".stdin'\n" +
		"echo out-line\n" +
		"echo err-line >&2\n" +
		"exit " + code + "\n"
	bin = filepath.Join(dir, "mos-stock")
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, argsFile
}

func TestStockRunPassesThrough(t *testing.T) {
	bin, argsFile := fakeStockMos(t, "3")
	io, in, out, errOut := cmdutil.Test()
	in.WriteString("typed input\n")
	opts := &Options{
		IO: io, Command: "console", Args: []string{"--port", "/dev/ttyUSB0", "a b"},
		StockMos: bin, Getenv: func(string) string { return "" }, Environ: os.Environ,
		LookPath: func(string) (string, error) { return "", errors.New("none") },
	}
	err := stockRun(context.Background(), opts)
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 3 {
		t.Fatalf("err = %v, want exit code 3", err)
	}
	args, _ := os.ReadFile(argsFile)
	if string(args) != "console\n--port\n/dev/ttyUSB0\na b\n" {
		t.Errorf("stock mos got args %q", args)
	}
	stdin, _ := os.ReadFile(argsFile + ".stdin")
	if string(stdin) != "typed input\n" || out.String() != "out-line\n" || errOut.String() != "err-line\n" {
		t.Errorf("stdin %q stdout %q stderr %q", stdin, out, errOut)
	}
}

func TestNewCmdStockArgs(t *testing.T) {
	f := cmdutil.New()
	var got *Options
	cmd := NewCmdStock(f, Command{Name: "flash", Short: "Flash"}, func(_ context.Context, o *Options) error { got = o; return nil })
	cmd.SetArgs([]string{"--port", "/dev/x", "--stock-mos", "/opt/mos", "--esp-erase-chip", "--help"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Command != "flash" || got.StockMos != "/opt/mos" || !reflect.DeepEqual(got.Args, []string{"--port", "/dev/x", "--esp-erase-chip", "--help"}) {
		t.Errorf("options %+v", got)
	}
}

func TestCommandsAreStocksRest(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Commands {
		if seen[c.Name] || c.Short == "" {
			t.Errorf("command %q repeated or without help", c.Name)
		}
		seen[c.Name] = true
	}
	for _, own := range []string{"build", "clone", "create-fw-bundle", "git-credentials", "update", "version", "eval-manifest-expr", "help"} {
		if seen[own] {
			t.Errorf("%s is implemented here, not run by stock mos", own)
		}
	}
	for _, dev := range []string{"flash", "console", "config-get", "config-set", "call", "ls", "get", "put", "rm", "ota", "wifi", "ports", "debug-core-dump", "ui", "license-save-key", "esp32-encrypt-image"} {
		if !seen[dev] {
			t.Errorf("stock's %s is missing", dev)
		}
	}
}
