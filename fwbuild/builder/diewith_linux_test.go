package builder

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mongoose-os/mos/common/testenv"
)

// hostPIDLine is sh that appends the host PID of the shell running it to
// the file $1 (inside a PID namespace $$ is the namespace's PID).
const hostPIDLine = `read -r p rest < /proc/self/stat; echo "$p" >> "$1"`

// With a PID namespace, a process the build started in a session of its
// own (out of reach of a signal to mos's process group) dies when mos
// does; without, it outlives the build.
func TestPIDNamespaceTakesEveryProcessWithMos(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc")
	}
	for _, pidns := range []bool{true, false} {
		t.Run("pidns="+strconv.FormatBool(pidns), func(t *testing.T) {
			req := request(t)
			pidFile := filepath.Join(t.TempDir(), "pids")
			// mos starts a detached "compiler" and exits at once once
			// it is running.
			bin := fakeMos(t, `setsid sh -c '`+hostPIDLine+`; exec sleep 1000' sh `+pidFile+` &
while [ ! -s `+pidFile+` ]; do :; done
exit 0
`)
			m := &Mos{Binary: bin, BuildRunner: "native", KillGrace: time.Second, PIDNamespace: pidns}
			res, err := m.Run(context.Background(), req)
			if err != nil || res.Failed {
				t.Fatalf("%+v %v", res, err)
			}
			if pidns && noPIDNamespace.Load() {
				t.Skip("no PID namespace here (needs root): builds run without one")
			}
			pid, err := strconv.Atoi(strings.TrimSpace(read(t, pidFile)))
			if err != nil {
				t.Fatal(err)
			}
			if pidns {
				if !testenv.ProcessGone(t, pid) {
					t.Errorf("process %d of the build outlived mos in its PID namespace", pid)
				}
				return
			}
			// Without one it runs on (as the detached process of a build
			// of a killed server would): the reason for the namespace.
			if err := syscall.Kill(pid, 0); err != nil {
				t.Errorf("detached process %d gone without a PID namespace: %v", pid, err)
			}
			syscall.Kill(pid, syscall.SIGKILL)
		})
	}
}

// The build inherits the context's lock file (fd 3 of mos).
func TestBuildInheritsTheLockFile(t *testing.T) {
	req := request(t)
	lock, err := os.Create(filepath.Join(t.TempDir(), "ci_main.lock"))
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	req.LockFile = lock
	out := filepath.Join(t.TempDir(), "fd3")
	bin := fakeMos(t, `readlink /proc/self/fd/3 > `+out+"\n")
	if res, err := (&Mos{Binary: bin, BuildRunner: "native"}).Run(context.Background(), req); err != nil || res.Failed {
		t.Fatalf("%+v %v", res, err)
	}
	if got := strings.TrimSpace(read(t, out)); got != lock.Name() {
		t.Errorf("fd 3 of the build is %q, want the lock file %s", got, lock.Name())
	}
}
