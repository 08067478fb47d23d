package root

import (
	"context"
	"strings"
	"testing"
)

// stockBuildFlags is every flag stock mos 2.20.0's `mos build` parses. Stock
// registers all its flags on one global pflag set, so this is that set: read
// from the 2.20.0 tag of github.com/mongoose-os/mos (cli/flags/flags.go,
// cli/main.go, and the flag definitions of cli/build.go, cli/common/paths.go,
// cli/manifest_parser, cli/mosgit, cli/update, cli/console.go, cli/flash.go,
// cli/fs, cli/ota, cli/rpccreds, cli/ui.go, cli/dev, cli/debug_core_dump,
// cli/esp32_*.go, cli/x509utils, cli/aws, cli/azure, cli/watson), plus
// klog v2.20.0's flags, which stock adds from the Go flag set. Each entry is
// the flag and a value of its type ("" for a bool).
var stockBuildFlags = []struct{ name, value string }{
	// cli/main.go
	{"user", "u"}, {"pass", "p"}, {"server", "http://127.0.0.1:1"}, {"device-id", "d"},
	{"device-pass", "p"}, {"dry-run", ""}, {"firmware", "fw.zip"}, {"force", ""},
	{"chdir", "."}, {"enable-extended", ""}, {"full", ""},
	// cli/flags/flags.go
	{"arch", "host"}, {"port", "/dev/ttyUSB0"}, {"baud-rate", "115200"}, {"board", "b"},
	{"build-info", "bi.json"}, {"checksums", "sha1"}, {"description", "d"}, {"input", "in.zip"},
	{"manifest", "m.json"}, {"name", "n"}, {"output", "out.zip"}, {"platform", "host"},
	{"src-dir", "src"}, {"compress", ""}, {"credentials", "tok"}, {"gh-token", "tok"},
	{"chunk-size", "512"}, {"fs-op-attempts", "3"}, {"pid", "mos"}, {"uid", "u"},
	{"cert-file", "c.pem"}, {"key-file", "k.pem"}, {"ca-cert-file", "ca.pem"}, {"ca-key-file", "cak.pem"},
	{"rpc-uart-no-delay", ""}, {"timeout", "20s"}, {"reconnect", ""}, {"hw-flow-control", ""},
	{"license-server", "https://127.0.0.1:1"}, {"license-server-key", "k"},
	{"inverted-control-lines", ""}, {"set-control-lines", ""}, {"azure-connection-string", "x"},
	{"gcp-project", "p"}, {"gcp-region", "r"}, {"gcp-registry", "r"}, {"gcp-cert-file", "c"},
	{"gcp-key-file", "k"}, {"gcp-rpc-create-topic", ""}, {"level", "1"}, {"no-reboot", ""},
	{"no-save", ""}, {"try-once", ""}, {"format", "json"}, {"write-key", "k"},
	{"csr-template", "t"}, {"cert-template", "t"}, {"cert-days", "1"}, {"subject", "s"},
	{"gdb-server-cmd", "x"}, {"keep-temp-files", ""}, {"keep-fs", ""}, {"attr", "a=1"},
	{"extra-attr", "a=1"}, {"sign-key", "k"}, {"state-file", "s.json"}, {"auth-file", "a.json"},
	{"build-params", "bp.yml"}, {"temp-dir", "/tmp"}, {"deps-dir", "deps"}, {"libs-dir", "libs"},
	{"modules-dir", "mods"}, {"local", ""}, {"clean", ""}, {"repo", "../sdk"}, {"verbose", ""},
	{"module", "m:/x"}, {"lib", "l:/x"}, {"no-libs-update", ""}, {"libs-update-interval", "1h"},
	{"build-var", "A=1"}, {"cdef", "A=1"}, {"build-dry-run", ""}, {"build-target", "all"},
	{"no-platform-check", ""}, {"cflags-extra", "-O2"}, {"cxxflags-extra", "-O2"},
	{"lib-extra", "{name: x}"}, {"save-build-stat", ""}, {"prefer-prebuilt-libs", ""},
	{"deps-versions", "dv.yml"}, {"strict-deps-versions", ""}, {"build-docker-extra", "-v"},
	{"build-docker-no-mounts", ""}, {"build-image", "img"}, {"build-parallelism", "2"},
	// cli/build.go, cli/common/paths.go, cli/manifest_parser, cli/mosgit, cli/update
	{"build-cmd-extra", "V=1"}, {"build-dir", "b"}, {"gen-dir", "g"}, {"binary-libs-dir", "bl"},
	{"source-glob", "*.c"}, {"use-shell-git", ""}, {"use-go-git", ""}, {"migrate", ""},
	// cli/console.go, cli/dev, cli/debug_core_dump, cli/esp32_*.go, cli/flash.go
	// --timestamp and --hexdump take no value unless given with "=", as in stock.
	{"no-input", ""}, {"catch-core-dumps", ""}, {"timestamp", ""}, {"timestamp=UnixDate", ""},
	{"hexdump", ""}, {"hexdump=8", ""},
	{"mos-src-path", "x"}, {"fw-elf-file", "x.elf"}, {"mgrpc-compat-args", ""},
	{"esp32-fake-fuses", ""}, {"esp32-protect-key", ""}, {"esp32-enable-flash-encryption", ""},
	{"esp32-flash-address", "4096"}, {"cc3200-format-slfs-size", "1048576"}, {"cc3220-bpi-binary", "x"},
	{"esp-rom-baud-rate", "115200"}, {"esp-baud-rate", "921600"}, {"esp-data-port", "/dev/x"},
	{"esp-flash-params", "dio,4m,40m"}, {"esp-erase-chip", ""}, {"esp-enable-compression", ""},
	{"esp-minimize-writes", ""}, {"esp-boot-after-flashing", ""}, {"esp32-encryption-key-file", "k"},
	{"esp32-flash-crypt-conf", "15"}, {"rs-erase-chip", ""}, {"stm32-stflash-path", "st-flash"},
	{"flash-timeout", "30s"},
	// cli/fs, cli/ota, cli/rpccreds, cli/ui.go
	{"long", ""}, {"commit-timeout", "5m"}, {"update-timeout", "10m"}, {"rpc-creds", "u:p"},
	{"web-root", "w"}, {"http-addr", "127.0.0.1:1992"}, {"start-browser", ""},
	// cli/x509utils, cli/aws, cli/azure, cli/watson
	{"cert-type", "ECDSA"}, {"cert-cn", "cn"}, {"cert-validity", "24h"}, {"use-atca", ""},
	{"atca-slot", "0"}, {"aws-enable-greengrass", ""}, {"aws-mqtt-server", "s"},
	{"aws-region", "r"}, {"aws-iot-policy", "p"}, {"aws-iot-thing", "t"}, {"aws-cert-file", "c"},
	{"aws-key-file", "k"}, {"aws-profile", "p"}, {"azure-device-id", "d"}, {"azure-hub-name", "h"},
	{"azure-hub-host-name", "h"}, {"azure-auth-method", "m"}, {"azure-device-status", "enabled"},
	{"azure-resource-group", "g"}, {"azure-skip-cli-check", ""}, {"azure-cert-file", "c"},
	{"azure-key-file", "k"}, {"watson-api-key", "k"}, {"watson-api-auth-token", "t"},
	{"watson-org-id", "o"}, {"watson-device-type", "t"}, {"watson-device-id", "d"},
	{"watson-api-host-name", "h"}, {"watson-messaging-host-name", "h"}, {"watson-device-auth-token", "t"},
	// klog v2.20.0 (InitFlags)
	{"log_dir", "/tmp"}, {"log_file", "/dev/null"}, {"log_file_max_size", "10"}, {"logtostderr", ""},
	{"alsologtostderr", ""}, {"v", "2"}, {"add_dir_header", ""}, {"skip_headers", ""},
	{"one_output", ""}, {"skip_log_headers", ""}, {"stderrthreshold", "1"}, {"vmodule", "x=1"},
	{"log_backtrace_at", "x.go:1"},
}

// stockShorthands are stock's one-letter flags, with a value of their type.
var stockShorthands = [][]string{{"-C", "."}, {"-X"}, {"-i", "in.zip"}, {"-o", "out.zip"}, {"-l"}, {"-v", "1"}}

func argsOf(name, value string) []string {
	if value == "" {
		return []string{"--" + name}
	}
	return []string{"--" + name, value}
}

// parseBuild parses args as `mos build ARGS` does, without running it.
func parseBuild(t *testing.T, args []string) error {
	t.Helper()
	f, _ := testFactory(nil)
	cmd := NewCmdRoot(f)
	sub, rest, err := cmd.Find(append([]string{"build"}, args...))
	if err != nil {
		return err
	}
	if sub.Name() != "build" {
		t.Fatalf("%q found command %q, not build", args, sub.Name())
	}
	return sub.ParseFlags(rest)
}

func TestStockBuildFlagsAccepted(t *testing.T) {
	var all []string
	for _, fl := range stockBuildFlags {
		args := argsOf(fl.name, fl.value)
		if err := parseBuild(t, args); err != nil {
			t.Errorf("mos build %s: %v", strings.Join(args, " "), err)
		}
		all = append(all, args...)
	}
	for _, args := range stockShorthands {
		if err := parseBuild(t, args); err != nil {
			t.Errorf("mos build %s: %v", strings.Join(args, " "), err)
		}
		all = append(all, args...)
	}
	if err := parseBuild(t, all); err != nil {
		t.Errorf("all stock flags at once: %v", err)
	}
	// The parse does reject what stock rejects.
	if err := parseBuild(t, []string{"--no-such-stock-flag"}); err == nil {
		t.Error("an unknown flag must be rejected")
	}
	if err := parseBuild(t, []string{"--baud-rate", "fast"}); err == nil {
		t.Error("--baud-rate takes a number, as in stock")
	}
}

// The device and cloud flags are accepted by every command of ours, as
// stock's global flags are, and said to have no effect once with --verbose.
func TestNoEffectFlagsSaidOnceWithVerbose(t *testing.T) {
	f, outputs := testFactory(nil)
	if code := Run(context.Background(), f, []string{"version", "--port", "/dev/ttyUSB0", "-X", "--timeout=5s"}); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if _, errOut := outputs(); errOut != "" {
		t.Errorf("without --verbose nothing is said: %q", errOut)
	}
	f, outputs = testFactory(map[string]string{"MOS_BAUD_RATE": "9600"})
	if code := Run(context.Background(), f, []string{"version", "--verbose", "--port", "/dev/ttyUSB0", "-X", "--timeout=5s"}); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	_, errOut := outputs()
	want := "No effect in this build of mos (accepted as stock mos accepts them): --baud-rate, --enable-extended, --port, --timeout\n"
	if errOut != want {
		t.Errorf("stderr %q, want %q", errOut, want)
	}
}

func TestStockFlagsHiddenUnlessFull(t *testing.T) {
	f, outputs := testFactory(nil)
	Run(context.Background(), f, []string{"build", "--help"})
	out, _ := outputs()
	if strings.Contains(out, "--port") || strings.Contains(out, "--azure-hub-name") || !strings.Contains(out, "--platform") {
		t.Errorf("build help must show its own flags and hide stock's device flags:\n%s", out)
	}
	f, outputs = testFactory(nil)
	Run(context.Background(), f, []string{"build", "--help", "--full"})
	out, _ = outputs()
	if !strings.Contains(out, "--port") || !strings.Contains(out, "--arch") {
		t.Errorf("--full must show hidden flags:\n%s", out)
	}
}
