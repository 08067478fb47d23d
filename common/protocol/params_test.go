package protocol

import (
	"testing"
	"time"
)

// The spec's composed example (remote-build-protocol.md §2.3), byte for byte.
const exampleYAML = `manifestadjustments:
  platform: esp32
  buildvars:
    BOARD: ""
    MGOS_ROOT_FS_SIZE: "393216"
  cdefs:
    APP_DEBUG: "1"
  cflags:
  - -Wno-error
  cxxflags: []
  extralibs:
  - location: https://github.com/mongoose-os-libs/dash
  depsversions: null
  strictdepsversions: false
clean: false
dryrun: false
verbose: false
buildtarget: all
customliblocations: {}
custommodulelocations: {}
libsupdateinterval: 1h0m0s
noplatformcheck: false
savebuildstat: true
preferprebuiltlibs: false
credentials:
  github.com:
    user: mos
    pass: ghp_exampletoken
`

func exampleParams() *BuildParams {
	return &BuildParams{
		ManifestAdjustments: ManifestAdjustments{
			Platform:  "esp32",
			BuildVars: map[string]string{"MGOS_ROOT_FS_SIZE": "393216", "BOARD": ""},
			CDefs:     map[string]string{"APP_DEBUG": "1"},
			CFlags:    []string{"-Wno-error"},
			ExtraLibs: []LibSpec{{Location: "https://github.com/mongoose-os-libs/dash"}},
		},
		BuildTarget:           "all",
		CustomLibLocations:    map[string]string{},
		CustomModuleLocations: map[string]string{},
		LibsUpdateInterval:    time.Hour,
		SaveBuildStat:         true,
		Credentials:           map[string]Credentials{"github.com": {User: "mos", Pass: "ghp_exampletoken"}},
	}
}

func TestMarshalMatchesStock(t *testing.T) {
	got, err := exampleParams().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != exampleYAML {
		t.Errorf("marshal differs from stock:\n--- got\n%s--- want\n%s", got, exampleYAML)
	}
}

func TestParseRoundTrip(t *testing.T) {
	bp, err := ParseBuildParams([]byte(exampleYAML))
	if err != nil {
		t.Fatal(err)
	}
	if bp.Platform != "esp32" || bp.BuildVars["MGOS_ROOT_FS_SIZE"] != "393216" ||
		bp.LibsUpdateInterval != time.Hour || !bp.SaveBuildStat ||
		bp.ExtraLibs[0].Location != "https://github.com/mongoose-os-libs/dash" {
		t.Errorf("parsed %+v", bp)
	}
	if c := bp.CredentialsFor("github.com"); c == nil || c.Pass != "ghp_exampletoken" {
		t.Errorf("CredentialsFor(github.com) = %v", c)
	}
	if c := bp.CredentialsFor("gitlab.com"); c != nil {
		t.Errorf("CredentialsFor(gitlab.com) = %v, want nil", c)
	}
}

func TestParseIgnoresFlattenedKeys(t *testing.T) {
	// A flattened platform key is not where stock reads it: it is ignored.
	bp, err := ParseBuildParams([]byte("platform: esp32\nbuildtarget: all\n"))
	if err != nil {
		t.Fatal(err)
	}
	if bp.Platform != "" || bp.BuildTarget != "all" {
		t.Errorf("parsed %+v", bp)
	}
}
