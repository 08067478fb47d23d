package harness

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"time"
)

// Redis is a redis-server on a free 127.0.0.1 port, keeping nothing on disk.
type Redis struct {
	cmd    *exec.Cmd
	exited chan error
	Addr   string // host:port
}

// StartRedis starts redis-server (from PATH) and waits until it accepts
// connections; logFile receives its output.
func StartRedis(ctx context.Context, logFile string) (*Redis, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	r := &Redis{Addr: fmt.Sprintf("127.0.0.1:%d", port), exited: make(chan error, 1)}
	r.cmd = exec.Command(bin, "--bind", "127.0.0.1", "--port", fmt.Sprint(port), "--save", "", "--appendonly", "no")
	r.cmd.Stdout, r.cmd.Stderr = logf, logf
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting redis-server: %w", err)
	}
	go func() { r.exited <- r.cmd.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", r.Addr, time.Second); err == nil {
			c.Close()
			return r, nil
		}
		select {
		case err := <-r.exited:
			return nil, fmt.Errorf("redis-server exited at start: %v (see %s)", err, logFile)
		case <-ctx.Done():
			r.Stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			r.Stop()
			return nil, fmt.Errorf("redis-server did not listen on %s within 20s", r.Addr)
		}
	}
}

// Stop ends redis-server.
func (r *Redis) Stop() {
	_ = r.cmd.Process.Kill()
	<-r.exited
}
