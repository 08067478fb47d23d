package realcore

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// getInfoScript runs in a network namespace of its own (no network but
// its own loopback) and a PID namespace whose init it is, so that every
// process the firmware forks dies with it: it brings loopback up, starts the firmware as
// ../shared/real/README.md says (chroot with conf0.json, an unprivileged
// user), asks Sys.GetInfo over the firmware's HTTP RPC on 127.0.0.1:8080
// until it answers (at most 20 s), prints the answer after a marker line,
// and stops the firmware.
const getInfoScript = `set -u
ip link set lo up
"$ELF" --insecure --chroot "$ROOT" --user 65534 --group 65534 >"$OUT" 2>&1 &
fw=$!
python3 - <<'PY'
import sys, time, urllib.request
for _ in range(100):
    try:
        r = urllib.request.urlopen(urllib.request.Request("http://127.0.0.1:8080/rpc/Sys.GetInfo", data=b"{}"), timeout=1)
        print("GETINFO"); print(r.read().decode()); sys.exit(0)
    except Exception:
        time.sleep(0.2)
sys.exit("no answer from the firmware on 127.0.0.1:8080")
PY
rc=$?
kill $fw 2>/dev/null
wait $fw 2>/dev/null
exit $rc
`

// runFirmware starts the ELF a build made, only inside `unshare --net`,
// and checks it answers Sys.GetInfo with its app name and architecture.
func runFirmware(t *testing.T, buildDir, app string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Log("not root: the firmware is not run (it needs unshare --net and chroot)")
		return
	}
	if out, err := exec.Command("unshare", "--net", "--pid", "--fork", "true").CombinedOutput(); err != nil {
		t.Logf("unshare --net --pid is not available here (%v: %s): the firmware is not run", err, out)
		return
	}
	for _, tool := range []string{"ip", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed to run the firmware: %v", tool, err)
		}
	}
	elf := filepath.Join(buildDir, "objs", app+".elf")
	root := t.TempDir()
	conf, err := os.ReadFile(filepath.Join(buildDir, "fs", "conf0.json"))
	if err != nil {
		t.Fatalf("the build left no fs/conf0.json: %v", err)
	}
	if err := os.WriteFile(filepath.Join(root, "conf0.json"), conf, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	outFile := filepath.Join(t.TempDir(), "firmware.out")
	cmd := exec.Command("unshare", "--net", "--pid", "--fork", "--kill-child", "sh", "-c", getInfoScript)
	cmd.Env = append(os.Environ(), "ELF="+elf, "ROOT="+root, "OUT="+outFile)
	out, err := cmd.CombinedOutput()
	fwOut, _ := os.ReadFile(outFile)
	if err != nil {
		t.Fatalf("running the firmware: %v\n%s\nfirmware output:\n%s", err, out, fwOut)
	}
	_, answer, _ := strings.Cut(string(out), "GETINFO\n")
	var info struct {
		App  string `json:"app"`
		Arch string `json:"arch"`
	}
	if err := json.Unmarshal([]byte(answer), &info); err != nil {
		t.Fatalf("Sys.GetInfo answer %q: %v", answer, err)
	}
	if info.App != app || info.Arch != "ubuntu" {
		t.Errorf("Sys.GetInfo says app %q arch %q, want %q ubuntu", info.App, info.Arch, app)
	}
	if !strings.Contains(string(fwOut), "Init done") {
		t.Errorf("the firmware did not print its init lines:\n%s", fwOut)
	}
	// The firmware forks (a parent and a worker): none may outlive the run.
	if pids := processesRunning(elf); len(pids) > 0 {
		t.Errorf("firmware processes %v still running after the test", pids)
	}
}

// processesRunning lists the processes whose command line names path.
func processesRunning(path string) []string {
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var pids []string
	for _, c := range cmdlines {
		b, err := os.ReadFile(c)
		if err == nil && strings.Contains(string(b), path) {
			pids = append(pids, filepath.Base(filepath.Dir(c)))
		}
	}
	return pids
}
