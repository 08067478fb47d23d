package config

import (
	"flag"
	"io"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestDefaultIsValid(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	if c.VolumesDir != "/var/tmp/fwbuild-volumes" || c.Port != 8000 || c.PayloadSizeLimit != 50<<20 ||
		c.BuildTimeout != 15*time.Minute || c.MaxConcurrentBuilds != runtime.NumCPU() || c.BuildRunner != "docker" ||
		c.VerifyFraction != 0.02 || c.FetchAllow != "github.com,api.github.com,*.githubusercontent.com,gitlab.com" {
		t.Errorf("Default() = %+v", c)
	}
}

func TestRegisterParsesFlags(t *testing.T) {
	c := Default()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	c.Register(fs)
	err := fs.Parse([]string{
		"--volumes-dir=/srv/v", "--port=9000", "--payload-size-limit=1024",
		"--build-runner", "native", "--build-timeout=2m", "--max-concurrent-builds=3",
		"--mos-binary=/opt/mos", "--cert-file=c.pem", "--key-file=k.pem", "--port-tls=8443",
		"--max-unpacked-size=2048", "--max-upload-files=10", "--build-kill-grace=1s", "--cas-max-size=4096",
		"--auth-file=/etc/fwbuild/users", "--context-ttl=48h", "--max-contexts-size=8192",
		"--read-header-timeout=5s", "--read-timeout=1m", "--write-timeout=2m", "--idle-timeout=30s",
		"--build-pid-namespace=false",
		"--sandbox=none", "--build-memory=1g", "--build-cpus=1.5", "--build-pids=64",
		"--fetch-allow=github.com,git.corp.example:8443",
		"--metrics-open", "--metrics-address=127.0.0.1:9100", "--verify-fraction=0.5", "--adopt-contexts=false",
		"--owner-ttl=720h", "--account-quota=100", "--team-quota=200", "--min-free-disk=300",
		"--kept-max-bytes=400", "--kept-account-bytes=50", "--kept-max-entries=60", "--kept-account-entries=7",
		"--admin-group=ops", "--status-public",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		VolumesDir: "/srv/v", Port: 9000, PortTLS: 8443, CertFile: "c.pem", KeyFile: "k.pem",
		PayloadSizeLimit: 1024, MaxUnpackedSize: 2048, MaxUploadFiles: 10,
		BuildRunner: "native", BuildTimeout: 2 * time.Minute, BuildKillGrace: time.Second,
		MaxConcurrentBuilds: 3, MosBinary: "/opt/mos", CASMaxSize: 4096,
		AuthFile: "/etc/fwbuild/users", ContextTTL: 48 * time.Hour, MaxContextsSize: 8192,
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: time.Minute, WriteTimeout: 2 * time.Minute, IdleTimeout: 30 * time.Second,
		Sandbox: "none", BuildMemory: "1g", BuildCPUs: "1.5", BuildPIDs: 64,
		FetchAllow: "github.com,git.corp.example:8443",
		Ccache:     true, CcacheMaxSize: "5G", ServerName: hostname(),
		MetricsOpen: true, MetricsAddress: "127.0.0.1:9100", VerifyFraction: 0.5,
		OwnerTTL: 720 * time.Hour, AccountQuota: 100, TeamQuota: 200, MinFreeDisk: 300,
		KeptMaxBytes: 400, KeptAccountBytes: 50, KeptMaxEntries: 60, KeptAccountEntries: 7,
		AdminGroup: "ops", StatusPublic: true,
	}
	if c != want {
		t.Errorf("parsed\n %+v\nwant\n %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
}

// Without accounts the server listens on 127.0.0.1 unless told where.
func TestListenAddress(t *testing.T) {
	for _, tc := range []struct{ address, auth, want string }{
		{"", "", "127.0.0.1"},
		{"0.0.0.0", "", "0.0.0.0"},
		{"", "/etc/fwbuild/users", ""},
		{"10.1.2.3", "/etc/fwbuild/users", "10.1.2.3"},
	} {
		c := Default()
		c.Address, c.AuthFile = tc.address, tc.auth
		if got := c.ListenAddress(); got != tc.want {
			t.Errorf("address %q, auth file %q: %q, want %q", tc.address, tc.auth, got, tc.want)
		}
	}
}

func TestRegisterRejectsUnknownStockFlags(t *testing.T) {
	// Stock flags this server has no use for are not accepted silently.
	c := Default()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.Register(fs)
	if err := fs.Parse([]string{"--image-pull-interval=0"}); err == nil {
		t.Error("--image-pull-interval accepted")
	}
}

func TestValidateNamesTheFlag(t *testing.T) {
	cases := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"empty volumes dir", func(c *Config) { c.VolumesDir = " " }, "--volumes-dir is empty"},
		{"port zero", func(c *Config) { c.Port = 0 }, "--port 0: must be between 1 and 65535"},
		{"port too big", func(c *Config) { c.Port = 70000 }, "--port 70000"},
		{"cert without key", func(c *Config) { c.CertFile = "c.pem" }, "--cert-file and --key-file must be given together"},
		{"tls port clash", func(c *Config) { c.CertFile, c.KeyFile, c.PortTLS = "c", "k", 8000 }, "--port-tls 8000: same as --port"},
		{"tls port range", func(c *Config) { c.CertFile, c.KeyFile, c.PortTLS = "c", "k", -1 }, "--port-tls -1"},
		{"payload limit", func(c *Config) { c.PayloadSizeLimit = 0 }, "--payload-size-limit 0: must be positive"},
		{"unpacked", func(c *Config) { c.MaxUnpackedSize = -1 }, "--max-unpacked-size -1"},
		{"files", func(c *Config) { c.MaxUploadFiles = 0 }, "--max-upload-files 0"},
		{"runner", func(c *Config) { c.BuildRunner = "podman" }, `--build-runner "podman": use docker or native`},
		{"timeout", func(c *Config) { c.BuildTimeout = 0 }, "--build-timeout 0s: must be positive"},
		{"grace", func(c *Config) { c.BuildKillGrace = -time.Second }, "--build-kill-grace -1s"},
		{"concurrency", func(c *Config) { c.MaxConcurrentBuilds = 0 }, "--max-concurrent-builds 0: must be at least 1"},
		{"cas size", func(c *Config) { c.CASMaxSize = 0 }, "--cas-max-size 0: must be positive"},
		{"context ttl", func(c *Config) { c.ContextTTL = -time.Hour }, "--context-ttl -1h0m0s: must not be negative"},
		{"contexts size", func(c *Config) { c.MaxContextsSize = -1 }, "--max-contexts-size -1: must not be negative"},
		{"read timeout", func(c *Config) { c.ReadTimeout = 0 }, "--read-timeout 0s: must be positive"},
		{"header timeout", func(c *Config) { c.ReadHeaderTimeout = 0 }, "--read-header-timeout 0s: must be positive"},
		{"sandbox", func(c *Config) { c.Sandbox = "off" }, `--sandbox "off": use on or none`},
		{"pids", func(c *Config) { c.BuildPIDs = -1 }, "--build-pids -1"},
		{"fetch allow", func(c *Config) { c.FetchAllow = "github.com,https://gitlab.com" }, `--fetch-allow entry "https://gitlab.com"`},
		{"metrics address", func(c *Config) { c.MetricsAddress = "9100" }, `--metrics-address "9100": want host:port`},
		{"metrics port", func(c *Config) { c.MetricsAddress = "127.0.0.1:0" }, `--metrics-address "127.0.0.1:0"`},
		{"verify fraction over 1", func(c *Config) { c.VerifyFraction = 1.5 }, "--verify-fraction 1.5: must be between 0 and 1"},
		{"verify fraction negative", func(c *Config) { c.VerifyFraction = -0.1 }, "--verify-fraction -0.1"},
		{"verify fraction NaN", func(c *Config) { c.VerifyFraction = math.NaN() }, "--verify-fraction NaN"},
		{"metrics clash", func(c *Config) { c.MetricsAddress = "127.0.0.1:8000" }, "same as --address and --port"},
		{"owner ttl", func(c *Config) { c.OwnerTTL = -time.Hour }, "--owner-ttl -1h0m0s: must not be negative"},
		{"account quota", func(c *Config) { c.AccountQuota = -1 }, "--account-quota -1: must not be negative"},
		{"free disk floor", func(c *Config) { c.MinFreeDisk = -1 }, "--min-free-disk -1"},
		{"kept bytes", func(c *Config) { c.KeptAccountBytes = 0 }, "--kept-account-bytes 0: must be positive"},
		{"kept entries", func(c *Config) { c.KeptMaxEntries = -1 }, "--kept-max-entries -1"},
		{"admin group without accounts", func(c *Config) { c.AdminGroup = "ops" }, `--admin-group "ops" needs --auth-file`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.change(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestValidateReportsAllProblems(t *testing.T) {
	c := Default()
	c.Port, c.MaxConcurrentBuilds = 0, 0
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "--port") || !strings.Contains(err.Error(), "--max-concurrent-builds") {
		t.Errorf("Validate() = %v, want both problems", err)
	}
}

func TestBuildPathsFixed(t *testing.T) {
	for _, tc := range []struct {
		runner, sandbox string
		want            bool
	}{
		{RunnerNative, SandboxOn, true}, {RunnerDocker, SandboxOn, true},
		{RunnerDocker, SandboxNone, false}, {RunnerNative, SandboxNone, false}, // docker without the sandbox: host paths
	} {
		c := Default()
		c.BuildRunner, c.Sandbox = tc.runner, tc.sandbox
		if got := c.BuildPathsFixed(); got != tc.want {
			t.Errorf("--build-runner %s --sandbox %s: %v, want %v", tc.runner, tc.sandbox, got, tc.want)
		}
	}
}

// An open server (no accounts) on an address other than loopback is
// refused unless --allow-anonymous says so; with accounts any address goes.
func TestAnonymousNeedsLoopback(t *testing.T) {
	for _, tc := range []struct {
		address, auth string
		anon          bool
		ok            bool
	}{
		{"", "", false, true},
		{"127.0.0.1", "", false, true},
		{"127.0.0.2", "", false, true},
		{"::1", "", false, true},
		{"[::1]", "", false, true},
		{"localhost", "", false, true},
		{"0.0.0.0", "", false, false},
		{"::", "", false, false},
		{"10.1.2.3", "", false, false},
		{"buildsrv.lan", "", false, false},
		{"0.0.0.0", "", true, true},
		{"10.1.2.3", "", true, true},
		{"0.0.0.0", "/etc/fwbuild/users", false, true},
		{"", "/etc/fwbuild/users", false, true},
	} {
		c := Default()
		c.Address, c.AuthFile, c.AllowAnonymous = tc.address, tc.auth, tc.anon
		err := c.Validate()
		if tc.ok && err != nil {
			t.Errorf("address %q auth %q anonymous %v: refused: %v", tc.address, tc.auth, tc.anon, err)
		}
		if !tc.ok && (err == nil || !strings.Contains(err.Error(), "--allow-anonymous") || !strings.Contains(err.Error(), "--auth-file")) {
			t.Errorf("address %q auth %q anonymous %v: Validate() = %v, want a refusal naming --auth-file and --allow-anonymous", tc.address, tc.auth, tc.anon, err)
		}
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c := Default()
	c.Register(fs)
	if err := fs.Parse([]string{"--address=0.0.0.0", "--allow-anonymous"}); err != nil || !c.AllowAnonymous {
		t.Fatalf("--allow-anonymous: %v, parsed %v", err, c.AllowAnonymous)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("--address=0.0.0.0 --allow-anonymous refused: %v", err)
	}
}
