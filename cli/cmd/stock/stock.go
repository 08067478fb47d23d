// Package stock runs the commands this build of mos leaves to stock mos
// (device, cloud, UI and license commands) in a stock mos binary, with the
// same arguments, streams and exit code, so the fork can be installed as
// `mos` on a developer's machine next to a stock mos.
package stock

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mongoose-os/mos/cli/cmdutil"
)

// Command is a stock mos command this build hands to stock mos.
type Command struct {
	Name, Short string
}

// Commands are the commands of stock mos 2.20.0 (its command table in
// cli/main.go) that this build does not implement itself.
var Commands = []Command{
	{"ui", "Start GUI"},
	{"flash", "Flash firmware to the device"},
	{"flash-read", "Read a region of flash"},
	{"flash-write", "Write a region of flash"},
	{"console", "Simple serial port console"},
	{"ls", "List files at the local device's filesystem"},
	{"get", "Read file from the local device's filesystem and print to stdout"},
	{"put", "Put file from the host machine to the local device's filesystem"},
	{"rm", "Delete a file from the device's filesystem"},
	{"ota", "Perform an OTA update on a device"},
	{"config-get", "Get config value from the locally attached device"},
	{"config-set", "Set config value at the locally attached device"},
	{"call", `Perform a device API call. "mos call RPC.List" shows available methods`},
	{"debug-core-dump", "Debug a core dump"},
	{"aws-iot-setup", "Provision the device for AWS IoT cloud"},
	{"azure-iot-setup", "Provision the device for Azure IoT Hub"},
	{"gcp-iot-setup", "Provision the device for Google IoT Core"},
	{"watson-iot-setup", "Provision the device for IBM Watson IoT Platform"},
	{"mdash-setup", "Provision the device for mDash"},
	{"license", "License device"},
	{"license-save-key", "Save license server key"},
	{"wifi", "Setup WiFi - shortcut to config-set wifi..."},
	{"atca-get-config", "Get ATCA chip config"},
	{"atca-set-config", "Set ATCA chip config"},
	{"atca-lock-zone", "Lock config or data zone"},
	{"atca-set-key", "Set key in a given slot"},
	{"atca-gen-key", "Generate a random key in a given slot"},
	{"atca-get-pub-key", "Retrieve public ECC key from a given slot"},
	{"atca-gen-csr", "Generate a random key in a given slot and generate a certificate request file"},
	{"atca-gen-cert", "Generate a random key in a given slot and issue a certificate"},
	{"esp32-efuse-get", "Get ESP32 eFuses"},
	{"esp32-efuse-set", "Set ESP32 eFuses"},
	{"esp32-encrypt-image", "Encrypt a ESP32 firmware image"},
	{"esp32-gen-key", "Generate and program an encryption key"},
	{"ports", "Show serial ports"},
}

// GroupID is the help group of the commands run by stock mos.
const GroupID = "stock"

// Names of the ways to point at stock mos.
const (
	Flag       = "stock-mos"
	EnvVar     = "MOS_STOCK_MOS"
	PathBinary = "mos-stock"
)

// StockURL is where stock mos comes from.
const StockURL = "https://mongoose-os.com/docs/mongoose-os/quickstart/setup.md"

// Options are the inputs of a command run by stock mos.
type Options struct {
	IO       *cmdutil.IOStreams
	Getenv   func(string) string
	LookPath func(string) (string, error)
	// Self is this mos binary; a stock mos that is this binary is refused
	// (it would call itself forever).
	Self func() (string, error)
	// Environ is the environment stock mos runs with.
	Environ func() []string

	Command  string   // the stock command, e.g. "flash"
	Args     []string // the arguments after the command name, as given
	StockMos string   // --stock-mos, taken out of Args
}

// ExitError is a non-zero exit of stock mos. Stock mos has said what went
// wrong; only its exit code is passed on.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("stock mos exited with code %d", e.Code) }

// NewCmdStock returns the command name, run by stock mos; runF replaces the
// run in tests.
func NewCmdStock(f *cmdutil.Factory, c Command, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{
		IO:       f.IO,
		Getenv:   f.Getenv,
		LookPath: exec.LookPath,
		Self:     f.Executable,
		Environ:  os.Environ,
		Command:  c.Name,
	}
	cmd := &cobra.Command{
		Use:     c.Name,
		Short:   c.Short,
		GroupID: GroupID,
		Long: c.Short + `.

This build of mos does firmware builds; this command runs in stock mos with
the same arguments and exit code: the one given by --stock-mos PATH, else
MOS_STOCK_MOS, else mos-stock on PATH.`,
		// Every argument, flags included, is stock mos's to read.
		DisableFlagParsing: true,
		// Not the root's hook: flags are not parsed here, and stock mos
		// reads MOS_<FLAG> and -C itself.
		PersistentPreRunE: func(*cobra.Command, []string) error { return nil },
		RunE: func(cmd *cobra.Command, args []string) error {
			rest, path, err := takeStockMosFlag(args)
			if err != nil {
				return err
			}
			opts.Args, opts.StockMos = rest, path
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return stockRun(cmd.Context(), opts)
		},
	}
	return cmd
}

// takeStockMosFlag removes --stock-mos PATH / --stock-mos=PATH from args
// (up to a "--"), returning the rest and the last PATH given.
func takeStockMosFlag(args []string) ([]string, string, error) {
	var rest []string
	path := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		if v, ok := strings.CutPrefix(a, "--"+Flag+"="); ok {
			path = v
			continue
		}
		if a == "--"+Flag {
			if i+1 >= len(args) {
				return nil, "", cmdutil.FlagErrorf("flag needs an argument: --%s", Flag)
			}
			path = args[i+1]
			i++
			continue
		}
		rest = append(rest, a)
	}
	return rest, path, nil
}

// Find returns the stock mos to run: --stock-mos, MOS_STOCK_MOS, or
// mos-stock on PATH; "" with a nil error when none is configured.
func Find(opts *Options) (string, error) {
	from, path := "--"+Flag, opts.StockMos
	if path == "" {
		from, path = EnvVar, opts.Getenv(EnvVar)
	}
	if path == "" {
		p, err := opts.LookPath(PathBinary)
		if err != nil {
			return "", nil
		}
		from, path = PathBinary+" on PATH", p
	}
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("stock mos %s (from %s): no such file", path, from)
		}
		return "", fmt.Errorf("stock mos (from %s): %w", from, err)
	}
	if st.IsDir() {
		return "", fmt.Errorf("stock mos %s (from %s) is a directory", path, from)
	}
	if opts.Self != nil {
		if self, err := opts.Self(); err == nil {
			if sst, err := os.Stat(self); err == nil && os.SameFile(st, sst) {
				return "", fmt.Errorf("stock mos %s (from %s) is this mos itself; point it at a stock mos binary", path, from)
			}
		}
	}
	return path, nil
}

// NotConfiguredError says what to do when no stock mos is configured.
func NotConfiguredError(command string) error {
	return fmt.Errorf(`"mos %s" is a stock mos command: this build of mos does firmware builds `+
		`(build, create-fw-bundle, clone, git-credentials, eval-manifest-expr). `+
		`Install stock mos 2.20.0 (%s) and run it directly, or make this mos run it: `+
		`--%s PATH, %s=PATH, or put it on PATH as %s`,
		command, StockURL, Flag, EnvVar, PathBinary)
}

func stockRun(ctx context.Context, opts *Options) error {
	bin, err := Find(opts)
	if err != nil {
		return err
	}
	if bin == "" {
		return NotConfiguredError(opts.Command)
	}
	cmd := exec.CommandContext(ctx, bin, append([]string{opts.Command}, opts.Args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = opts.IO.In, opts.IO.Out, opts.IO.ErrOut
	cmd.Env = opts.Environ()
	// On Ctrl-C the terminal signals stock mos too; a cancel (SIGINT or
	// SIGTERM to this mos) is passed on as an interrupt, so stock mos can
	// restore a serial port, and only a stock mos that ignores it is killed.
	cmd.Cancel = func() error { return interrupt(cmd.Process) }
	cmd.WaitDelay = 10 * time.Second
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code := ee.ExitCode()
		if code <= 0 {
			code = 1 // killed by a signal
		}
		return &ExitError{Code: code}
	}
	if err != nil {
		return fmt.Errorf("running stock mos %s: %w", bin, err)
	}
	return nil
}

// interrupt asks p to stop as Ctrl-C would; Windows has no such signal for
// another process, so there it is killed.
func interrupt(p *os.Process) error {
	if runtime.GOOS == "windows" {
		return p.Kill()
	}
	return p.Signal(os.Interrupt)
}
