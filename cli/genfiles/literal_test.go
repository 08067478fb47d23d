package genfiles

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/common/testenv"
)

func TestShellWords(t *testing.T) {
	for _, tc := range []struct {
		in    string
		split bool
		want  []string
	}{
		{"-Wall  -O2", true, []string{"-Wall", "-O2"}},
		{`-DX=\"s\"`, true, []string{`-DX="s"`}},
		{`STM32_PIN\(STM32_GPIO_PORT_A,1,11\)`, false, []string{"STM32_PIN(STM32_GPIO_PORT_A,1,11)"}},
		{`'a b' "c $HOME" d\ e`, true, []string{"a b", "c $HOME", "d e"}},
		{"1 $(shell touch x) `id`", false, []string{"1 $(shell touch x) `id`"}},
		{"1 $(shell touch x)", true, []string{"1", "$(shell", "touch", "x)"}},
		{"", false, []string{""}},
		{"", true, nil},
		{`"a\$b\\c"`, true, []string{`a$b\c`}},
		{`x\`, true, []string{`x\`}},
	} {
		got, err := shellWords(tc.in, tc.split)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("shellWords(%q, %v) = %q, %v; want %q", tc.in, tc.split, got, err, tc.want)
		}
	}
	for _, bad := range []string{`'open`, `"open`} {
		if _, err := shellWords(bad, true); err == nil {
			t.Errorf("shellWords(%q) succeeded", bad)
		}
	}
}

func TestBuildVarValue(t *testing.T) {
	for in, want := range map[string]string{
		"1":                                "1",
		"$(MGOS_PLATFORM_PATH)/bin/bl.bin": "$(MGOS_PLATFORM_PATH)/bin/bl.bin",
		"${MGOS_PATH}/x":                   "${MGOS_PATH}/x",
		"cost $5 and $$":                   "cost $$5 and $$$$",
		`fs0 stm32flash {"size": 1} | x`:   `fs0 stm32flash {"size": 1} | x`,
		"$@ $<":                            "$$@ $$<",
	} {
		got, err := BuildVarValue("V", in)
		if err != nil || got != want {
			t.Errorf("BuildVarValue(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"$(shell touch x)", "`touch x`", "$(wildcard /etc/*)", "$(touch x)", "${a b}", "$(X", "$$(touch x)"} {
		_, err := BuildVarValue("V", bad)
		if !errors.Is(err, ErrUnsafeValue) || !strings.Contains(err.Error(), "build_vars.V") {
			t.Errorf("BuildVarValue(%q) = %v, want a refusal naming build_vars.V", bad, err)
		}
	}
}

func TestCheckShellSafe(t *testing.T) {
	if err := CheckShellSafe("APP_VERSION", "1.0-rc1+x"); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"1`id`", "1;id", "$(id)", "a'b", "a\nb"} {
		if err := CheckShellSafe("APP_VERSION", bad); !errors.Is(err, ErrUnsafeValue) {
			t.Errorf("CheckShellSafe(%q) = %v", bad, err)
		}
	}
}

// The real thing: vars.mk as the build writes it, read by make, used in a
// recipe as SDK makefiles use APP_CFLAGS and build vars. Nothing runs,
// and each compiler argument arrives as written.
func TestValuesReachTheRecipeLiterally(t *testing.T) {
	testenv.RequireTool(t, "make")
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	attack := "1 $(shell touch " + marker + ") `touch " + marker + "` $(touch " + marker + ") $(MAKEFILE_LIST) $HOME; touch " + marker
	cflags, err := CFlags("cflags", []string{"-DQ=\"" + strings.ReplaceAll(attack, `"`, `\"`) + "\"", "-Wall"},
		map[string]string{"ATTACK": attack, "PIN": `STM32_PIN\(A,1,11\)`, "STR": `\"text\"`})
	if err != nil {
		t.Fatal(err)
	}
	bl, err := BuildVarValue("MGOS_BL_BIN", "$(PLATFORM_PATH)/bl.bin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := WriteVarsMk(dir, map[string]string{"APP_CFLAGS": MakeLiteral(cflags), "MGOS_BL_BIN": bl}); err != nil {
		t.Fatal(err)
	}
	// printf '%s\n' prints one argument per line, as the compiler gets them.
	mk := "include vars.mk\nPLATFORM_PATH := /sdk/platform\nall:\n\t@printf '%s\\n' $(APP_CFLAGS) > args.txt\n\t@echo '$(MGOS_BL_BIN)' > bl.txt\n"
	if err := os.WriteFile(filepath.Join(dir, "Makefile"), []byte(mk), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("make", "-C", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("make: %v\n%s", err, out)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatalf("a value ran a command (%s exists)", marker)
	}
	args, _ := os.ReadFile(filepath.Join(dir, "args.txt"))
	want := "-DQ=" + attack + "\n-Wall\n-DATTACK=" + attack + "\n-DPIN=STM32_PIN(A,1,11)\n-DSTR=\"text\"\n"
	if string(args) != want {
		t.Errorf("compiler arguments:\n%s\nwant:\n%s", args, want)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "bl.txt")); string(b) != "/sdk/platform/bl.bin\n" {
		t.Errorf("MGOS_BL_BIN = %q: the make reference upstream libs use must still expand", b)
	}
}
