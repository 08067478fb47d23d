package harness

import (
	"errors"
	"math"
	"net/http"
	"testing"
	"time"
)

// HAProxy's bound (lb_chash.c): factor 101 with 20 requests in flight and
// a new one on 3 servers gives 22 slots, 7 / 7 / 8; 125 gives 27, 9 each.
func TestBalanceBound(t *testing.T) {
	for _, c := range []struct{ factor, servers, total, want int }{
		{101, 3, 21, 8},
		{125, 3, 21, 9},
		{101, 3, 3, 2}, // 4 slots: 1 / 1 / 2
		{200, 2, 10, 10},
	} {
		if got := BalanceBound(c.factor, c.servers, c.total); got != c.want {
			t.Errorf("BalanceBound(%d, %d, %d) = %d, want %d", c.factor, c.servers, c.total, got, c.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	builds := []DevBuild{
		{Developer: 1, Context: "a", First: true, Server: "fw3", Seconds: 50}, // untimed
		{Developer: 1, Context: "a", Server: "fw1", Servers: []string{"fw1"}, Seconds: 1, Start: at(0), End: at(1)},
		{Developer: 1, Context: "a", Server: "fw1", Servers: []string{"fw1"}, Seconds: 3, Start: at(1), End: at(4)},
		{Developer: 1, Context: "a", Server: "fw2", Servers: []string{"fw1", "fw2"}, Seconds: 2, Start: at(4), End: at(6)},
		{Developer: 2, Context: "b", Server: "fw2", Servers: []string{"fw2"}, Seconds: 4, Start: at(0), End: at(4)},
		{Developer: 2, Context: "b", Err: errors.New("boom"), Start: at(4), End: at(5)},
		{Developer: 2, Context: "b", Server: "fw2", Servers: []string{"fw2"}, Seconds: 6, Start: at(5), End: at(10)},
	}
	post := func(server string, from, to float64) FarmRequest {
		return FarmRequest{Affinity: "k", Server: server, Method: http.MethodPost, Start: at(from), End: at(to)}
	}
	reqs := []FarmRequest{
		post("fw2", 0, 4), post("fw2", 1, 3), post("fw2", 2, 6), // 3 at once in [2, 3)
		post("fw2", 6, 7), // touching: not at once
		{Affinity: "k", Server: "fw2", Method: http.MethodGet, Start: at(0), End: at(10)}, // a poll: not load
		post("fw1", 0, 1),
	}
	s := Summarize([]string{"fw1", "fw2", "fw3"}, builds, reqs, 2)
	if s.Developers != 2 || s.Builds != 5 || s.Failed != 1 || s.Split != 1 || s.OneServer != 1 {
		t.Errorf("summary %+v: want 2 developers, 5 builds, 1 failed, 1 split, 1 context on one server", s)
	}
	// a: 2 of 3 on fw1; b: 2 of 2 on fw2.
	if math.Abs(s.Stayed-4.0/5) > 1e-9 {
		t.Errorf("stayed %.3f, want 0.8", s.Stayed)
	}
	want := []ServerLoad{
		{Name: "fw1", Builds: 2, MedianS: 2, Contexts: 1, MaxAtOnce: 1},
		{Name: "fw2", Builds: 3, MedianS: 4, Contexts: 1, MaxAtOnce: 3, OverBound: 0.1}, // 1 s of the 10 s timed
		{Name: "fw3", Builds: 0, MedianS: 0, Contexts: 0},
	}
	for i, w := range want {
		g := s.Servers[i]
		if g.Name != w.Name || g.Builds != w.Builds || g.MedianS != w.MedianS || g.Contexts != w.Contexts || g.MaxAtOnce != w.MaxAtOnce || math.Abs(g.OverBound-w.OverBound) > 1e-9 {
			t.Errorf("server %d: %+v, want %+v", i, g, w)
		}
	}
}
