package expr

import (
	"errors"
	"reflect"
	"testing"
)

func testVars() *Vars {
	v := NewVars()
	v.Set(MosVersion, "2.20.0")
	v.Set(MosPlatform, "esp32")
	v.Set(Manifest, map[string]any{
		"name":         "app",
		"platform":     "from_manifest",
		"build_vars":   map[string]any{"FOO": "1", "EMPTY": ""},
		"sources":      []any{"src", "lib/x.c"},
		"no_impl":      true,
		"nothing":      nil,
		"init_after":   nil,
		"libs_version": "2.20.0",
	})
	v.Set(ModulePathVar("mongoose-os"), "/mos")
	return v
}

func TestEval(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want any
	}{
		// One operand.
		{`"text"`, "text"},
		{`""`, ""},
		{`build_vars.FOO`, "1"},
		{`manifest.build_vars.FOO`, "1"},
		{`defined(build_vars.FOO)`, true},
		{`defined(build_vars.NOPE)`, false},
		{`defined(build_vars.FOO.deeper)`, false},
		{`defined(nothing)`, true}, // present with a nil value
		{`nothing`, nil},
		{`sources`, []any{"src", "lib/x.c"}},
		{`mos.version`, "2.20.0"},
		// Aliases.
		{`mos_version`, "2.20.0"},
		{`platform`, "esp32"}, // mos.platform wins over manifest.platform
		{`arch`, "esp32"},
		{`mos.arch`, "esp32"},
		{`mongoose_os_path`, "/mos"},
		{`mongoose-os_path`, "/mos"},
		{`name`, "app"},
		// Three tokens.
		{`build_vars.FOO == "1"`, true},
		{`build_vars.FOO != "1"`, false},
		{`mos.platform == "esp8266"`, false},
		{`"a" != "b"`, true},
		{`build_vars.EMPTY == ""`, true},
		{"build_vars.FOO\t==\n\"1\"", true},
		{`build_vars.FOO   ==   build_vars.FOO`, true},
	} {
		got, err := Eval(testVars(), tc.expr)
		if err != nil {
			t.Errorf("Eval(%q): %v", tc.expr, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Eval(%q) = %#v, want %#v", tc.expr, got, tc.want)
		}
	}
}

func TestEvalErrors(t *testing.T) {
	for _, tc := range []struct {
		expr, msg string
	}{
		{`a == b == c`, "can't parse the expression a == b == c"},
		{`a ==`, "can't parse the expression a =="},
		{` build_vars.FOO`, "can't parse the expression  build_vars.FOO"},
		{`build_vars.FOO `, "can't parse the expression build_vars.FOO "},
		{`defined( build_vars.FOO)`, "can't parse the expression defined( build_vars.FOO)"},
		// Three tokens: taken as operand, operator, operand.
		{`defined( build_vars.FOO )`, "failed to evaluate defined("},
		{`"two words"`, `can't parse the expression "two words"`},
		{`build_vars.NOPE`, "failed to evaluate build_vars.NOPE"},
		{`build_vars.FOO == 1`, "failed to evaluate 1"}, // unquoted literal is a variable
		{`${build_vars.FOO} == "1"`, "failed to evaluate ${build_vars.FOO}"},
		{`build_vars.FOO.x`, "failed to evaluate build_vars.FOO.x"},
		{`build_vars.FOO > "1"`, `">" is not a valid operation`},
		{`build_vars.FOO && "1"`, `"&&" is not a valid operation`},
		{`no_impl == "true"`, "only strings are allowed, bool given (true)"},
		{`"x" == sources`, "only strings are allowed, []interface {} given ([src lib/x.c])"},
		{`nothing == "x"`, "only strings are allowed, <nil> given (<nil>)"},
		{``, "failed to evaluate "},
	} {
		_, err := Eval(testVars(), tc.expr)
		if err == nil || err.Error() != tc.msg {
			t.Errorf("Eval(%q) error = %v, want %q", tc.expr, err, tc.msg)
		}
	}

	_, err := Eval(testVars(), "a b")
	var se *SyntaxError
	if !errors.As(err, &se) || se.Expr != "a b" {
		t.Errorf("two tokens: %v, want a SyntaxError", err)
	}
	_, err = Eval(testVars(), "build_vars.X")
	var ue *UndefinedError
	if !errors.As(err, &ue) || ue.Name != "build_vars.X" {
		t.Errorf("undefined: %v, want an UndefinedError", err)
	}
	if _, err := Eval(testVars(), `no_impl != "x"`); !errors.Is(err, ErrNotString) {
		t.Errorf("bool operand: %v, want ErrNotString", err)
	}
}

func TestEvalBool(t *testing.T) {
	if ok, err := EvalBool(testVars(), `defined(build_vars.FOO)`); err != nil || !ok {
		t.Errorf("defined: %v, %v", ok, err)
	}
	if ok, err := EvalBool(testVars(), `no_impl`); err != nil || !ok {
		t.Errorf("bool variable: %v, %v", ok, err)
	}
	_, err := EvalBool(testVars(), `build_vars.FOO`)
	if err == nil || err.Error() != "expected bool, got string (1)" || !errors.Is(err, ErrNotBool) {
		t.Errorf("string condition: %v", err)
	}
	if _, err := EvalBool(testVars(), `build_vars.NOPE == "1"`); err == nil {
		t.Error("undefined variable in a condition: no error")
	}
}

func TestExpand(t *testing.T) {
	for _, tc := range []struct {
		in, keep, strict, strictErr string
	}{
		{"plain", "plain", "plain", ""},
		{"${build_vars.FOO} and ${mos.platform}", "1 and esp32", "1 and esp32", ""},
		{"${defined(build_vars.FOO)}", "true", "true", ""},
		{`${build_vars.FOO == "1"}`, "true", "true", ""},
		{"${sources}", "[src lib/x.c]", "[src lib/x.c]", ""},
		{"${nothing}", "<nil>", "<nil>", ""},
		{"-I${mongoose_os_path}/include", "-I/mos/include", "-I/mos/include", ""},
		// Shortest match up to the first '}'; "${}" is not an expression.
		{"${}x", "${}x", "${}x", ""},
		{"a ${build_vars.NOPE} b ${build_vars.FOO}", "a ${build_vars.NOPE} b 1", "",
			`expanding expressions in "a ${build_vars.NOPE} b ${build_vars.FOO}": failed to evaluate build_vars.NOPE`},
		{"${a b}", "${a b}", "", `expanding expressions in "${a b}": can't parse the expression a b`},
	} {
		got, err := Expand(testVars(), tc.in, Keep)
		if err != nil || got != tc.keep {
			t.Errorf("Expand(%q, Keep) = %q, %v; want %q", tc.in, got, err, tc.keep)
		}
		got, err = Expand(testVars(), tc.in, Strict)
		switch {
		case tc.strictErr != "":
			if err == nil || err.Error() != tc.strictErr {
				t.Errorf("Expand(%q, Strict) error = %v, want %q", tc.in, err, tc.strictErr)
			}
		case err != nil || got != tc.strict:
			t.Errorf("Expand(%q, Strict) = %q, %v; want %q", tc.in, got, err, tc.strict)
		}
	}
}

func TestExpandDoesNotRescan(t *testing.T) {
	v := NewVars()
	v.Set("manifest.build_vars.X", "${build_vars.Y}")
	v.Set("manifest.build_vars.Y", "y")
	got, err := Expand(v, "${build_vars.X} main", Strict)
	if err != nil || got != "${build_vars.Y} main" {
		t.Errorf("got %q, %v; the substituted text must stay as is", got, err)
	}
}

func TestExpandAll(t *testing.T) {
	got, err := ExpandAll(testVars(), []string{"${mos.platform}", "x"}, Strict)
	if err != nil || !reflect.DeepEqual(got, []string{"esp32", "x"}) {
		t.Errorf("ExpandAll = %q, %v", got, err)
	}
	if _, err := ExpandAll(testVars(), []string{"ok", "${nope}"}, Strict); err == nil {
		t.Error("ExpandAll with a failing entry: no error")
	}
	if got, err := ExpandAll(testVars(), nil, Strict); err != nil || got == nil || len(got) != 0 {
		t.Errorf("ExpandAll(nil) = %#v, %v; want an empty list", got, err)
	}
}

func TestVars(t *testing.T) {
	v := NewVars()
	v.Set("a.b.c", "1")
	v.Set("a.x", "2")
	if got, ok := v.Get("a.b.c"); !ok || got != "1" {
		t.Errorf("a.b.c = %v, %v", got, ok)
	}
	if got, ok := v.Get("a.b"); !ok || !reflect.DeepEqual(got, map[string]any{"c": "1"}) {
		t.Errorf("a.b = %v, %v", got, ok)
	}
	// A step into a non-map fails.
	if _, ok := v.Get("a.x.y"); ok {
		t.Error("a.x.y found")
	}
	// Setting below a leaf replaces it by a map.
	v.Set("a.x.y", "3")
	if got, ok := v.Get("a.x.y"); !ok || got != "3" {
		t.Errorf("a.x.y = %v, %v", got, ok)
	}

	c := v.Clone()
	c.Set("a.b.c", "changed")
	if got, _ := v.Get("a.b.c"); got != "1" {
		t.Errorf("setting in a clone changed the original: %v", got)
	}

	// platform aliases read mos.platform only.
	w := NewVars()
	w.Set("manifest.platform", "p")
	if _, ok := w.Get("platform"); ok {
		t.Error("platform fell back to manifest.platform although mos.platform is unset")
	}
	if got, ok := w.Get("manifest.platform"); !ok || got != "p" {
		t.Errorf("manifest.platform = %v, %v", got, ok)
	}
}

func TestIdent(t *testing.T) {
	for in, want := range map[string]string{
		"my-lib":      "my_lib",
		"mongoose-os": "mongoose_os",
		"zz_boards":   "zz_boards",
		"a.b c":       "a_b_c",
		"ünï":         "ünï",
	} {
		if got := Ident(in); got != want {
			t.Errorf("Ident(%q) = %q, want %q", in, got, want)
		}
	}
	if got := LibPathVar("my-lib"); got != "mos.libs.my_lib.path" {
		t.Errorf("LibPathVar = %q", got)
	}
}
