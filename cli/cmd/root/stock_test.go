package root

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestDeviceCommandRunsInStockMos runs `mos flash` through the whole
// command tree with a fake stock mos: it gets the same arguments, global
// flags included and --stock-mos taken out, and its exit code is mos's.
func TestDeviceCommandRunsInStockMos(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the fake stock mos is a shell script")
	}
	dir := t.TempDir()
	argsFile := filepath.Join(dir, "args")
	bin := filepath.Join(dir, "stock-mos")
	script := "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > '" + argsFile + "'\necho flashed\nexit 7\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"flag", nil, []string{"--port", "/dev/ttyUSB0", "--stock-mos", bin, "flash", "--esp-erase-chip", "fw.zip"}},
		{"env", map[string]string{"MOS_STOCK_MOS": bin}, []string{"--port", "/dev/ttyUSB0", "flash", "--esp-erase-chip", "fw.zip"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, outputs := testFactory(tc.env)
			if code := Run(context.Background(), f, tc.args); code != 7 {
				t.Errorf("exit code %d, want stock's 7", code)
			}
			got, _ := os.ReadFile(argsFile)
			if string(got) != "flash\n--port\n/dev/ttyUSB0\n--esp-erase-chip\nfw.zip\n" {
				t.Errorf("stock mos got %q", got)
			}
			out, errOut := outputs()
			if out != "flashed\n" || errOut != "" {
				t.Errorf("stdout %q stderr %q: stock's output only, no Error line of ours", out, errOut)
			}
		})
	}
}

func TestDeviceCommandWithoutStockMos(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no mos-stock on PATH
	f, outputs := testFactory(nil)
	if code := Run(context.Background(), f, []string{"config-get", "wifi"}); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	_, errOut := outputs()
	if !strings.Contains(errOut, `"mos config-get" is a stock mos command`) || strings.Count(errOut, "Error:") != 1 {
		t.Errorf("stderr %q", errOut)
	}
}

func TestHelpGroupsStockCommands(t *testing.T) {
	f, outputs := testFactory(nil)
	Run(context.Background(), f, []string{"help"})
	out, _ := outputs()
	i, j := strings.Index(out, "Commands run by stock mos"), strings.Index(out, "create-fw-bundle")
	if i < 0 || j < 0 || j > i || !strings.Contains(out[i:], "flash") || !strings.Contains(out[i:], "esp32-encrypt-image") {
		t.Errorf("help must list our commands, then stock's under their own heading:\n%s", out)
	}
}
