package cmdutil

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/spf13/pflag"
)

// StockFlag is one flag of stock mos 2.20.0. Stock registers every flag
// on one global flag set, so every command accepts all of them; scripts
// written for stock pass device or cloud flags to `mos build` too.
type StockFlag struct {
	Name      string
	Shorthand string
	Kind      string // bool, string, int, uint, uint32, uint64, duration, stringSlice, stringArray
	Default   string
	// NoOptDefVal is the value of the flag given without one
	// (--timestamp, --hexdump).
	NoOptDefVal string
	Group       string // what stock uses it for, shown in help with --full
}

// StockFlags are the flags of stock mos 2.20.0 (its pflag command line:
// cli/flags/flags.go, cli/main.go, the flags its cli/ packages register,
// and klog's, which it adds from the Go flag set). Those this build
// implements are defined by the commands and shadow these.
var StockFlags = []StockFlag{
	// Global (cli/main.go).
	{Name: "user", Kind: "string", Group: "global"},
	{Name: "pass", Kind: "string", Group: "global"},
	{Name: "server", Kind: "string", Default: "https://build.mongoose-os.com", Group: "build"},
	{Name: "device-id", Kind: "string", Group: "device"},
	{Name: "device-pass", Kind: "string", Group: "device"},
	{Name: "dry-run", Kind: "bool", Default: "true", Group: "device"},
	{Name: "firmware", Kind: "string", Default: "build/fw.zip", Group: "device"},
	{Name: "force", Kind: "bool", Group: "device"},
	{Name: "chdir", Shorthand: "C", Kind: "string", Group: "global"},
	{Name: "enable-extended", Shorthand: "X", Kind: "bool", Group: "global"},
	{Name: "full", Kind: "bool", Group: "global"},

	// cli/flags/flags.go.
	{Name: "arch", Kind: "string", Group: "build"},
	{Name: "port", Kind: "string", Default: "auto", Group: "device"},
	{Name: "baud-rate", Kind: "int", Default: "115200", Group: "device"},
	{Name: "board", Kind: "string", Group: "build"},
	{Name: "build-info", Kind: "string", Group: "bundle"},
	{Name: "checksums", Kind: "stringSlice", Default: "sha1", Group: "device"},
	{Name: "description", Kind: "string", Group: "bundle"},
	{Name: "input", Shorthand: "i", Kind: "string", Group: "bundle"},
	{Name: "manifest", Kind: "string", Group: "bundle"},
	{Name: "name", Kind: "string", Group: "bundle"},
	{Name: "output", Shorthand: "o", Kind: "string", Group: "bundle"},
	{Name: "platform", Kind: "string", Group: "build"},
	{Name: "src-dir", Kind: "string", Group: "bundle"},
	{Name: "compress", Kind: "bool", Group: "bundle"},
	{Name: "credentials", Kind: "string", Group: "build"},
	{Name: "gh-token", Kind: "string", Group: "build"},
	{Name: "chunk-size", Kind: "int", Default: "512", Group: "device"},
	{Name: "fs-op-attempts", Kind: "int", Default: "3", Group: "device"},
	{Name: "pid", Kind: "string", Default: "mos", Group: "device"},
	{Name: "uid", Kind: "string", Group: "device"},
	{Name: "cert-file", Kind: "string", Group: "device"},
	{Name: "key-file", Kind: "string", Group: "device"},
	{Name: "ca-cert-file", Kind: "string", Group: "device"},
	{Name: "ca-key-file", Kind: "string", Group: "device"},
	{Name: "rpc-uart-no-delay", Kind: "bool", Group: "device"},
	{Name: "timeout", Kind: "duration", Default: "20s", Group: "device"},
	{Name: "reconnect", Kind: "bool", Group: "device"},
	{Name: "hw-flow-control", Kind: "bool", Group: "device"},
	{Name: "license-server", Kind: "string", Default: "https://license.mongoose-os.com", Group: "license"},
	{Name: "license-server-key", Kind: "string", Group: "license"},
	{Name: "inverted-control-lines", Kind: "bool", Group: "device"},
	{Name: "set-control-lines", Kind: "bool", Default: "true", Group: "device"},
	{Name: "azure-connection-string", Kind: "string", Group: "cloud"},
	{Name: "gcp-project", Kind: "string", Group: "cloud"},
	{Name: "gcp-region", Kind: "string", Group: "cloud"},
	{Name: "gcp-registry", Kind: "string", Group: "cloud"},
	{Name: "gcp-cert-file", Kind: "string", Group: "cloud"},
	{Name: "gcp-key-file", Kind: "string", Group: "cloud"},
	{Name: "gcp-rpc-create-topic", Kind: "bool", Group: "cloud"},
	{Name: "level", Kind: "int", Default: "-1", Group: "device"},
	{Name: "no-reboot", Kind: "bool", Group: "device"},
	{Name: "no-save", Kind: "bool", Group: "device"},
	{Name: "try-once", Kind: "bool", Group: "device"},
	{Name: "format", Kind: "string", Group: "device"},
	{Name: "write-key", Kind: "string", Group: "device"},
	{Name: "csr-template", Kind: "string", Group: "device"},
	{Name: "cert-template", Kind: "string", Group: "device"},
	{Name: "cert-days", Kind: "int", Default: "0", Group: "device"},
	{Name: "subject", Kind: "string", Group: "device"},
	{Name: "gdb-server-cmd", Kind: "string", Default: "/usr/local/bin/serve_core.py", Group: "debug"},
	{Name: "keep-temp-files", Kind: "bool", Group: "global"},
	{Name: "keep-fs", Kind: "bool", Group: "device"},
	{Name: "attr", Kind: "stringArray", Group: "bundle"},
	{Name: "extra-attr", Kind: "stringArray", Group: "bundle"},
	{Name: "sign-key", Kind: "stringArray", Group: "bundle"},
	{Name: "state-file", Kind: "string", Default: "~/.mos/state.json", Group: "global"},
	{Name: "auth-file", Kind: "string", Default: "~/.mos/auth.json", Group: "global"},
	{Name: "build-params", Kind: "string", Group: "build"},
	{Name: "temp-dir", Kind: "string", Default: "~/.mos/tmp", Group: "global"},
	{Name: "deps-dir", Kind: "string", Group: "build"},
	{Name: "libs-dir", Kind: "stringSlice", Group: "build"},
	{Name: "modules-dir", Kind: "string", Group: "build"},
	{Name: "local", Kind: "bool", Group: "build"},
	{Name: "clean", Kind: "bool", Group: "build"},
	{Name: "repo", Kind: "string", Group: "build"},
	{Name: "verbose", Kind: "bool", Group: "global"},
	{Name: "module", Kind: "stringArray", Group: "build"},
	{Name: "lib", Kind: "stringArray", Group: "build"},
	{Name: "no-libs-update", Kind: "bool", Group: "build"},
	{Name: "libs-update-interval", Kind: "duration", Default: "1h0m0s", Group: "build"},
	{Name: "build-var", Kind: "stringSlice", Group: "build"},
	{Name: "cdef", Kind: "stringSlice", Group: "build"},
	{Name: "build-dry-run", Kind: "bool", Group: "build"},
	{Name: "build-target", Kind: "string", Default: "all", Group: "build"},
	{Name: "no-platform-check", Kind: "bool", Group: "build"},
	{Name: "cflags-extra", Kind: "stringArray", Group: "build"},
	{Name: "cxxflags-extra", Kind: "stringArray", Group: "build"},
	{Name: "lib-extra", Kind: "stringArray", Group: "build"},
	{Name: "save-build-stat", Kind: "bool", Default: "true", Group: "build"},
	{Name: "prefer-prebuilt-libs", Kind: "bool", Group: "build"},
	{Name: "deps-versions", Kind: "string", Group: "build"},
	{Name: "strict-deps-versions", Kind: "bool", Default: "true", Group: "build"},
	{Name: "build-docker-extra", Kind: "stringArray", Group: "build"},
	{Name: "build-docker-no-mounts", Kind: "bool", Group: "build"},
	{Name: "build-image", Kind: "string", Group: "build"},
	{Name: "build-parallelism", Kind: "int", Default: "0", Group: "build"},

	// Flags other packages of stock's cli/ register.
	{Name: "build-cmd-extra", Kind: "stringArray", Group: "build"},
	{Name: "build-dir", Kind: "string", Group: "build"},
	{Name: "gen-dir", Kind: "string", Group: "build"},
	{Name: "binary-libs-dir", Kind: "string", Group: "build"},
	{Name: "source-glob", Kind: "stringSlice", Default: "*.c,*.cpp", Group: "build"},
	{Name: "use-shell-git", Kind: "bool", Group: "build"},
	{Name: "use-go-git", Kind: "bool", Group: "build"},
	{Name: "migrate", Kind: "bool", Default: "true", Group: "update"},
	{Name: "no-input", Kind: "bool", Group: "device"},
	{Name: "catch-core-dumps", Kind: "bool", Default: "true", Group: "device"},
	{Name: "timestamp", Kind: "string", Default: "StampMilli", NoOptDefVal: "true", Group: "device"},
	{Name: "hexdump", Kind: "int", Default: "0", NoOptDefVal: "16", Group: "device"},
	{Name: "mos-src-path", Kind: "string", Group: "debug"},
	{Name: "fw-elf-file", Kind: "string", Group: "debug"},
	{Name: "mgrpc-compat-args", Kind: "bool", Group: "device"},
	{Name: "esp32-fake-fuses", Kind: "bool", Group: "device"},
	{Name: "esp32-protect-key", Kind: "bool", Default: "true", Group: "device"},
	{Name: "esp32-enable-flash-encryption", Kind: "bool", Group: "device"},
	{Name: "esp32-flash-address", Kind: "uint32", Default: "0", Group: "device"},
	{Name: "cc3200-format-slfs-size", Kind: "int", Default: "1048576", Group: "device"},
	{Name: "cc3220-bpi-binary", Kind: "string", Group: "device"},
	{Name: "esp-rom-baud-rate", Kind: "uint", Default: "115200", Group: "device"},
	{Name: "esp-baud-rate", Kind: "uint", Default: "921600", Group: "device"},
	{Name: "esp-data-port", Kind: "string", Group: "device"},
	{Name: "esp-flash-params", Kind: "string", Group: "device"},
	{Name: "esp-erase-chip", Kind: "bool", Group: "device"},
	{Name: "esp-enable-compression", Kind: "bool", Default: "true", Group: "device"},
	{Name: "esp-minimize-writes", Kind: "bool", Default: "true", Group: "device"},
	{Name: "esp-boot-after-flashing", Kind: "bool", Default: "true", Group: "device"},
	{Name: "esp32-encryption-key-file", Kind: "string", Group: "device"},
	{Name: "esp32-flash-crypt-conf", Kind: "uint32", Default: "15", Group: "device"},
	{Name: "rs-erase-chip", Kind: "bool", Group: "device"},
	{Name: "stm32-stflash-path", Kind: "string", Default: "st-flash", Group: "device"},
	{Name: "flash-timeout", Kind: "duration", Default: "30s", Group: "device"},
	{Name: "long", Shorthand: "l", Kind: "bool", Group: "device"},
	{Name: "commit-timeout", Kind: "duration", Default: "5m0s", Group: "device"},
	{Name: "update-timeout", Kind: "duration", Default: "10m0s", Group: "device"},
	{Name: "rpc-creds", Kind: "string", Group: "device"},
	{Name: "web-root", Kind: "string", Group: "ui"},
	{Name: "http-addr", Kind: "string", Default: "127.0.0.1:1992", Group: "ui"},
	{Name: "start-browser", Kind: "bool", Default: "true", Group: "ui"},
	{Name: "cert-type", Kind: "string", Group: "cloud"},
	{Name: "cert-cn", Kind: "string", Group: "cloud"},
	{Name: "cert-validity", Kind: "duration", Default: "87648h0m0s", Group: "cloud"},
	{Name: "use-atca", Kind: "bool", Group: "cloud"},
	{Name: "atca-slot", Kind: "int", Default: "0", Group: "cloud"},
	{Name: "aws-enable-greengrass", Kind: "bool", Group: "cloud"},
	{Name: "aws-mqtt-server", Kind: "string", Group: "cloud"},
	{Name: "aws-region", Kind: "string", Group: "cloud"},
	{Name: "aws-iot-policy", Kind: "string", Default: "mos-default", Group: "cloud"},
	{Name: "aws-iot-thing", Kind: "string", Group: "cloud"},
	{Name: "aws-cert-file", Kind: "string", Group: "cloud"},
	{Name: "aws-key-file", Kind: "string", Group: "cloud"},
	{Name: "aws-profile", Kind: "string", Group: "cloud"},
	{Name: "azure-device-id", Kind: "string", Group: "cloud"},
	{Name: "azure-hub-name", Kind: "string", Group: "cloud"},
	{Name: "azure-hub-host-name", Kind: "string", Group: "cloud"},
	{Name: "azure-auth-method", Kind: "string", Default: "x509_thumbprint", Group: "cloud"},
	{Name: "azure-device-status", Kind: "string", Default: "enabled", Group: "cloud"},
	{Name: "azure-resource-group", Kind: "string", Group: "cloud"},
	{Name: "azure-skip-cli-check", Kind: "bool", Group: "cloud"},
	{Name: "azure-cert-file", Kind: "string", Group: "cloud"},
	{Name: "azure-key-file", Kind: "string", Group: "cloud"},
	{Name: "watson-api-key", Kind: "string", Group: "cloud"},
	{Name: "watson-api-auth-token", Kind: "string", Group: "cloud"},
	{Name: "watson-org-id", Kind: "string", Default: "quickstart", Group: "cloud"},
	{Name: "watson-device-type", Kind: "string", Default: "mos", Group: "cloud"},
	{Name: "watson-device-id", Kind: "string", Group: "cloud"},
	{Name: "watson-api-host-name", Kind: "string", Group: "cloud"},
	{Name: "watson-messaging-host-name", Kind: "string", Group: "cloud"},
	{Name: "watson-device-auth-token", Kind: "string", Group: "cloud"},

	// klog's flags (k8s.io/klog/v2 v2.20.0 InitFlags); a one-letter Go
	// flag gets that letter as its shorthand too.
	{Name: "log_dir", Kind: "string", Group: "log"},
	{Name: "log_file", Kind: "string", Group: "log"},
	{Name: "log_file_max_size", Kind: "uint64", Default: "1800", Group: "log"},
	{Name: "logtostderr", Kind: "bool", Group: "log"},
	{Name: "alsologtostderr", Kind: "bool", Group: "log"},
	{Name: "v", Shorthand: "v", Kind: "string", Default: "0", Group: "log"},
	{Name: "add_dir_header", Kind: "bool", Group: "log"},
	{Name: "skip_headers", Kind: "bool", Group: "log"},
	{Name: "one_output", Kind: "bool", Group: "log"},
	{Name: "skip_log_headers", Kind: "bool", Group: "log"},
	{Name: "stderrthreshold", Kind: "string", Default: "2", Group: "log"},
	{Name: "vmodule", Kind: "string", Group: "log"},
	{Name: "log_backtrace_at", Kind: "string", Group: "log"},
}

// annotationNoEffect marks a flag that is accepted for stock compatibility
// and changes nothing in this build.
const annotationNoEffect = "mos_no_effect"

// AddNoEffectFlags defines on fs, hidden and marked as having no effect,
// every stock flag fs does not define yet (by name or shorthand).
func AddNoEffectFlags(fs *pflag.FlagSet) error {
	for _, sf := range StockFlags {
		if fs.Lookup(sf.Name) != nil {
			continue
		}
		short := sf.Shorthand
		if short != "" && fs.ShorthandLookup(short) != nil {
			short = ""
		}
		usage := fmt.Sprintf("stock mos %s flag; no effect in this build", sf.Group)
		if err := defineFlag(fs, sf, short, usage); err != nil {
			return fmt.Errorf("stock flag --%s: %w", sf.Name, err)
		}
		f := fs.Lookup(sf.Name)
		if sf.NoOptDefVal != "" {
			f.NoOptDefVal = sf.NoOptDefVal
		}
		f.Hidden = true
		MarkNoEffect(fs, sf.Name)
	}
	return nil
}

func defineFlag(fs *pflag.FlagSet, sf StockFlag, short, usage string) error {
	switch sf.Kind {
	case "bool":
		def := sf.Default == "true"
		fs.BoolP(sf.Name, short, def, usage)
	case "string":
		fs.StringP(sf.Name, short, sf.Default, usage)
	case "int":
		n, err := atoiDefault(sf.Default)
		if err != nil {
			return err
		}
		fs.IntP(sf.Name, short, n, usage)
	case "uint", "uint32", "uint64":
		n := uint64(0)
		if sf.Default != "" {
			var err error
			if n, err = strconv.ParseUint(sf.Default, 0, 64); err != nil {
				return err
			}
		}
		switch sf.Kind {
		case "uint":
			fs.UintP(sf.Name, short, uint(n), usage)
		case "uint32":
			fs.Uint32P(sf.Name, short, uint32(n), usage)
		default:
			fs.Uint64P(sf.Name, short, n, usage)
		}
	case "duration":
		d := time.Duration(0)
		if sf.Default != "" {
			var err error
			if d, err = time.ParseDuration(sf.Default); err != nil {
				return err
			}
		}
		fs.DurationP(sf.Name, short, d, usage)
	case "stringSlice":
		var def []string
		if sf.Default != "" {
			def = splitComma(sf.Default)
		}
		fs.StringSliceP(sf.Name, short, def, usage)
	case "stringArray":
		fs.StringArrayP(sf.Name, short, nil, usage)
	default:
		return fmt.Errorf("unknown kind %q", sf.Kind)
	}
	return nil
}

func atoiDefault(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	return strconv.Atoi(s)
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}

// MarkNoEffect marks fs's flags names as accepted with no effect, so
// NoEffectGiven reports them.
func MarkNoEffect(fs *pflag.FlagSet, names ...string) {
	for _, n := range names {
		_ = fs.SetAnnotation(n, annotationNoEffect, []string{"true"})
	}
}

// NoEffectGiven returns, sorted, the names of the flags of fs that were set
// (on the command line or from MOS_<FLAG>) and have no effect here.
func NoEffectGiven(fs *pflag.FlagSet) []string {
	var names []string
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed && len(f.Annotations[annotationNoEffect]) > 0 {
			names = append(names, f.Name)
		}
	})
	sort.Strings(names)
	return names
}
