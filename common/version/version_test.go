package version

import (
	"strings"
	"testing"
)

func TestLooksLikeRelease(t *testing.T) {
	for v, want := range map[string]bool{
		"2.20.0":       true,
		"0.01":         true,
		"2.":           true,
		"latest":       false,
		"202303131403": false,
		"v2.20.0":      false,
		"2.20.0-rc1":   false,
	} {
		if got := LooksLikeRelease(v); got != want {
			t.Errorf("LooksLikeRelease(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestPresentedIsStockRelease(t *testing.T) {
	if got := Presented(); got != "2.20.0" {
		t.Errorf("Presented() = %q, want 2.20.0 (users switch from stock 2.20.0)", got)
	}
}

func TestUserAgent(t *testing.T) {
	ua := UserAgent()
	if !strings.HasPrefix(ua, "mos/2.20.0 "+BuildID+" (") {
		t.Errorf("UserAgent() = %q", ua)
	}
}
