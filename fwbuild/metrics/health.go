package metrics

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Check is one condition of readiness; Run returns why it does not hold.
type Check struct {
	Name string
	Run  func(ctx context.Context) error
}

// Healthz answers 200 while the process serves.
func Healthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writePlain(w, http.StatusOK, "ok\n")
	})
}

// readyTimeout bounds one round of checks; readyCache is how long its
// answer is reused, so frequent probes do not each start a docker client.
const (
	readyTimeout = 10 * time.Second
	readyCache   = 2 * time.Second
)

// Readyz answers 200 when every check holds, else 503; the body lists
// each check with "ok" or its error.
func Readyz(checks []Check) http.Handler {
	var (
		mu     sync.Mutex
		at     time.Time
		status int
		body   string
	)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock() // one round at a time; the others wait for its answer
		defer mu.Unlock()
		if time.Since(at) > readyCache {
			ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
			status, body = runChecks(ctx, checks)
			cancel()
			at = time.Now()
		}
		writePlain(w, status, body)
	})
}

func runChecks(ctx context.Context, checks []Check) (int, string) {
	status := http.StatusOK
	var b strings.Builder
	for _, c := range checks {
		if err := c.Run(ctx); err != nil {
			status = http.StatusServiceUnavailable
			fmt.Fprintf(&b, "%s: %v\n", c.Name, err)
			continue
		}
		fmt.Fprintf(&b, "%s: ok\n", c.Name)
	}
	return status, b.String()
}

func writePlain(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(text))
}
