package testenv

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Metric fetches a Prometheus text page and returns the value of the
// series named name (one without labels).
func Metric(url, name string) (float64, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, fmt.Errorf("metric %s: %w", name, err)
	}
	// No idle connection is kept: a proxy in front of the server (the
	// bench harness's) waits for its connections to end when it closes.
	req.Close = true
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("metric %s: %w", name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("metric %s: GET %s: %s", name, url, resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), name+" ")
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return 0, fmt.Errorf("metric %s at %s: %w", name, url, err)
		}
		return f, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("metric %s: reading %s: %w", name, url, err)
	}
	return 0, fmt.Errorf("metric %s: not on %s", name, url)
}
