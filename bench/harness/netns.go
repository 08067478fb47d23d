//go:build linux

package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Bandwidth through tbf (issue 23): the link scenarios run in a network
// namespace of their own (the bench re-executes itself under `unshare
// --net`), whose loopback carries a tbf limited to the link's rate, as the
// issue measured it (`tc qdisc ... tbf rate R burst 256kb latency 5000ms`,
// lo's MTU 1500). Every packet crosses lo's egress once, so the tbf
// shapes the sum of both directions.
//
// The proxy sits between client and server, so each byte crosses lo twice
// (client-proxy, proxy-server): a tbf at lo's root would see it twice and
// halve the link. The tbf is therefore the leaf of an htb class that a u32
// filter gives only the packets to or from the proxy's port; everything
// else goes through a class as fast as lo. (These kernels have htb, tbf
// and u32, but neither prio nor netem.)

// netnsEnv marks the process re-executed in the namespace; its value is
// the namespace of the process that started it (/proc/self/ns/net's
// link), which the new one must differ from.
const netnsEnv = "MOS_BENCH_NETNS"

// InNetns reports whether this process is one RunInNetns started.
func InNetns() bool { return os.Getenv(netnsEnv) != "" }

// tbfSetup shapes port's traffic on lo with tbf at rate (bits per second).
func tbfSetup(rate int64, port int) [][]string {
	p := strconv.Itoa(port)
	return [][]string{
		{"qdisc", "replace", "dev", "lo", "root", "handle", "1:", "htb", "default", "20"},
		// quantum: htb's default (rate / r2q) is out of range at these rates.
		{"class", "add", "dev", "lo", "parent", "1:", "classid", "1:10", "htb", "rate", "100gbit", "quantum", "60000"},
		{"class", "add", "dev", "lo", "parent", "1:", "classid", "1:20", "htb", "rate", "100gbit", "quantum", "60000"},
		{"qdisc", "add", "dev", "lo", "parent", "1:10", "handle", "10:", "tbf", "rate", fmt.Sprintf("%dbit", rate), "burst", "256kb", "latency", "5000ms"},
		{"filter", "add", "dev", "lo", "parent", "1:", "protocol", "ip", "prio", "1", "u32", "match", "ip", "dport", p, "0xffff", "flowid", "1:10"},
		{"filter", "add", "dev", "lo", "parent", "1:", "protocol", "ip", "prio", "1", "u32", "match", "ip", "sport", p, "0xffff", "flowid", "1:10"},
	}
}

// CheckNetns makes a throwaway namespace with a shaped lo (`unshare
// --net sh -c ...`): nil when the bench can shape with tbf here, else
// why not (not root, no unshare, ip or tc, or a qdisc missing).
func CheckNetns() error {
	for _, p := range []string{"unshare", "ip", "tc"} {
		if _, err := exec.LookPath(p); err != nil {
			return fmt.Errorf("no %s on PATH: %w", p, err)
		}
	}
	if os.Geteuid() != 0 {
		return errors.New("not root (a network namespace and tc need it)")
	}
	script := "ip link set lo up && ip link set lo mtu 1500"
	for _, args := range tbfSetup(8_000_000, 1) {
		script += " && tc " + strings.Join(args, " ")
	}
	if out, err := exec.Command("unshare", "--net", "sh", "-c", script).CombinedOutput(); err != nil {
		return fmt.Errorf("unshare --net sh -c %q: %w: %s", script, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// RunInNetns runs this program again with args in a new network
// namespace (`unshare --net`), InNetns true there, and returns its exit
// code. ctx's end sends it SIGTERM.
func RunInNetns(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("re-executing in a network namespace: %w", err)
	}
	ns, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		return 0, fmt.Errorf("re-executing in a network namespace: %w", err)
	}
	cmd := exec.CommandContext(ctx, "unshare", append([]string{"--net", "--", exe}, args...)...)
	cmd.Env = append(os.Environ(), netnsEnv+"="+ns)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	// unshare execs the program in place: the signal reaches it, and it
	// stops its servers before exiting.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = time.Minute
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), nil
	}
	if err != nil {
		return 0, fmt.Errorf("unshare --net %s: %w", exe, err)
	}
	return 0, nil
}

// TBF shapes the loopback of the namespace this process runs in.
type TBF struct {
	mtu string // lo's MTU before, restored by Reset
}

// NewTBF brings lo up in the namespace RunInNetns made. It refuses to
// touch the loopback of the machine's own namespace.
func NewTBF() (*TBF, error) {
	if !InNetns() {
		return nil, errors.New("not in the bench's network namespace")
	}
	self, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		return nil, fmt.Errorf("telling the namespace from the machine's: %w", err)
	}
	if self == os.Getenv(netnsEnv) {
		return nil, fmt.Errorf("%s=%s: this is still the namespace of the process that started this one", netnsEnv, self)
	}
	mtu, err := os.ReadFile("/sys/class/net/lo/mtu")
	if err != nil {
		return nil, fmt.Errorf("lo's MTU: %w", err)
	}
	if err := run("ip", "link", "set", "lo", "up"); err != nil {
		return nil, err
	}
	return &TBF{mtu: strings.TrimSpace(string(mtu))}, nil
}

// Shape limits the traffic to and from port (the proxy's) to rate
// (bytes per second, both directions together) with lo's MTU at 1500;
// rate 0 takes any shaping off.
func (t *TBF) Shape(rate int64, port int) error {
	if err := run("ip", "link", "set", "lo", "mtu", "1500"); err != nil {
		return err
	}
	if err := t.unshape(); err != nil {
		return err
	}
	if rate <= 0 {
		return nil
	}
	for _, args := range tbfSetup(rate*8, port) {
		if err := run("tc", args...); err != nil {
			return err
		}
	}
	return nil
}

// unshape removes lo's root qdisc, if any.
func (t *TBF) unshape() error {
	out, err := exec.Command("tc", "qdisc", "del", "dev", "lo", "root").CombinedOutput()
	// lo without a qdisc of ours has noqueue, which cannot be deleted.
	if err != nil && !strings.Contains(string(out), "Cannot delete qdisc with handle of zero") && !strings.Contains(string(out), "No such file") {
		return fmt.Errorf("tc qdisc del dev lo root: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Reset takes the shaping off and restores lo's MTU (the scenarios after
// the link ones run on lo as the machine's).
func (t *TBF) Reset() error {
	return errors.Join(t.unshape(), run("ip", "link", "set", "lo", "mtu", t.mtu))
}

var tbfSent = regexp.MustCompile(`qdisc tbf 10:[^\n]*\n\s*Sent (\d+) bytes`)

// Sent is the bytes the tbf has passed since Shape made it (0 when none).
func (t *TBF) Sent() (int64, error) {
	out, err := exec.Command("tc", "-s", "qdisc", "show", "dev", "lo").CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("tc -s qdisc show dev lo: %w: %s", err, strings.TrimSpace(string(out)))
	}
	m := tbfSent.FindSubmatch(out)
	if m == nil {
		return 0, nil
	}
	return strconv.ParseInt(string(m[1]), 10, 64)
}

func run(name string, args ...string) error {
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
