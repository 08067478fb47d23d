package harness

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/mongoose-os/mos/common/protocol"
)

// FarmOptions start a farm as fwbuild/farm/haproxy.cfg describes it: 3
// fwbuild-managers sharing one Redis behind HAProxy, on 127.0.0.1.
type FarmOptions struct {
	Bins   Binaries
	Config string // fwbuild/farm/haproxy.cfg
	Dir    string // volumes and logs (created)
	// BalanceFactor, when set, is FARM_BALANCE_FACTOR (the config's
	// hash-balance-factor; "0" is plain consistent hashing).
	BalanceFactor string
	ServerFlags   []string // more flags of every server
}

// FarmServers is the number of servers the config names (FW1..FW3).
const FarmServers = 3

// Farm is a running farm with a recording proxy in front of HAProxy.
type Farm struct {
	Names   []string // the servers' --server-name, fw1..fw3
	servers []*Server
	redis   *Redis
	haproxy *exec.Cmd
	hpDone  chan struct{}
	http    *http.Server
	url     string

	mu       sync.Mutex
	requests []FarmRequest
}

// FarmRequest is one request through the farm as the recording proxy saw it.
type FarmRequest struct {
	Affinity   string // protocol.HeaderAffinity of the request
	Server     string // protocol.HeaderServer of the answer ("" without one)
	Method     string
	Status     int
	Start, End time.Time
}

// StartFarm starts Redis, the servers and HAProxy (from PATH).
func StartFarm(ctx context.Context, o FarmOptions) (_ *Farm, err error) {
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("farm dir: %w", err)
	}
	f := &Farm{}
	defer func() {
		if err != nil {
			f.Stop()
		}
	}()
	if f.redis, err = StartRedis(ctx, filepath.Join(o.Dir, "redis.log")); err != nil {
		return nil, err
	}
	bind, err := freePort()
	if err != nil {
		return nil, err
	}
	env := []string{fmt.Sprintf("FARM_BIND=127.0.0.1:%d", bind)}
	if o.BalanceFactor != "" {
		env = append(env, "FARM_BALANCE_FACTOR="+o.BalanceFactor)
	}
	for i := 1; i <= FarmServers; i++ {
		name := fmt.Sprintf("fw%d", i)
		s, err := StartServer(ctx, ServerOptions{
			Manager: o.Bins.Manager, Mos: o.Bins.Mos, Runner: "native",
			VolumesDir: filepath.Join(o.Dir, name), LogFile: filepath.Join(o.Dir, name+".log"),
			Extra: append([]string{"--server-name", name, "--ccache-remote", "redis://" + f.redis.Addr}, o.ServerFlags...),
		})
		if err != nil {
			return nil, fmt.Errorf("farm server %s: %w", name, err)
		}
		f.servers, f.Names = append(f.servers, s), append(f.Names, name)
		env = append(env, fmt.Sprintf("FW%d=%s", i, s.addr))
	}
	logPath := filepath.Join(o.Dir, "haproxy.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	f.haproxy = exec.Command("haproxy", "-db", "-f", o.Config)
	f.haproxy.Env = append(os.Environ(), env...)
	f.haproxy.Stdout, f.haproxy.Stderr = logf, logf
	if err := f.haproxy.Start(); err != nil {
		f.haproxy = nil
		return nil, fmt.Errorf("starting haproxy: %w", err)
	}
	f.hpDone = make(chan struct{})
	go func() { f.haproxy.Wait(); close(f.hpDone) }()
	hp := fmt.Sprintf("127.0.0.1:%d", bind)
	for deadline := time.Now().Add(20 * time.Second); ; {
		if c, err := net.DialTimeout("tcp", hp, time.Second); err == nil {
			c.Close()
			break
		}
		select {
		case <-f.hpDone:
			out, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("haproxy -f %s exited at start:\n%s", o.Config, out)
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("haproxy did not listen on %s within 20 s; see %s", hp, logPath)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	target, _ := url.Parse("http://" + hp)
	rp := httputil.NewSingleHostReverseProxy(target)
	f.http = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := FarmRequest{Affinity: r.Header.Get(protocol.HeaderAffinity), Method: r.Method, Start: time.Now()}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		rp.ServeHTTP(sw, r)
		rec.End, rec.Status, rec.Server = time.Now(), sw.status, sw.Header().Get(protocol.HeaderServer)
		f.mu.Lock()
		f.requests = append(f.requests, rec)
		f.mu.Unlock()
	})}
	go f.http.Serve(ln)
	f.url = "http://" + ln.Addr().String()
	return f, nil
}

// statusWriter notes the answer's status; Unwrap lets the reverse proxy
// flush through it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// URL is the farm's URL (the recording proxy in front of HAProxy).
func (f *Farm) URL() string { return f.url }

// Requests are the requests answered so far.
func (f *Farm) Requests() []FarmRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]FarmRequest(nil), f.requests...)
}

// Stop ends everything the farm started.
func (f *Farm) Stop() {
	if f.http != nil {
		f.http.Close()
	}
	if f.haproxy != nil {
		_ = f.haproxy.Process.Signal(syscall.SIGTERM)
		select {
		case <-f.hpDone:
		case <-time.After(10 * time.Second):
			_ = f.haproxy.Process.Kill()
			<-f.hpDone
		}
	}
	for _, s := range f.servers {
		s.Stop()
	}
	if f.redis != nil {
		f.redis.Stop()
	}
}
