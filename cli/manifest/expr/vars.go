package expr

import (
	"strings"
	"unicode"
)

// Vars is the tree of variables an expression can read, addressed by
// dotted paths ("mos.platform", "manifest.build_vars.FOO"). Inner nodes
// are map[string]any; leaves are strings, bools, lists ([]any) or nil.
//
// Besides the stored paths, Get knows the aliases mos.yml authors rely on:
// everything under "manifest." is also readable without the prefix,
// "arch", "platform" and "mos.arch" read "mos.platform", "mos_version"
// reads "mos.version", and "<module>_path" reads
// "mos.modules.<module>.path".
type Vars struct {
	root map[string]any
}

// NewVars returns an empty tree.
func NewVars() *Vars {
	return &Vars{root: map[string]any{}}
}

// Clone returns a deep copy: setting variables in either tree does not
// affect the other.
func (v *Vars) Clone() *Vars {
	return &Vars{root: cloneMap(v.root)}
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, val := range m {
		out[k] = cloneValue(val)
	}
	return out
}

func cloneValue(val any) any {
	switch t := val.(type) {
	case map[string]any:
		return cloneMap(t)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = cloneValue(e)
		}
		return out
	}
	return val
}

// Set stores value at path, creating the maps on the way (a non-map found
// on the way is replaced by a map).
func (v *Vars) Set(path string, value any) {
	m := v.root
	for {
		head, rest, more := strings.Cut(path, ".")
		if !more {
			m[head] = value
			return
		}
		next, ok := m[head].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[head] = next
		}
		m, path = next, rest
	}
}

// lookup reads a stored path, without aliases. A step into a value that is
// not a map fails.
func (v *Vars) lookup(path string) (any, bool) {
	m := v.root
	for {
		head, rest, more := strings.Cut(path, ".")
		val, ok := m[head]
		if !ok {
			return nil, false
		}
		if !more {
			return val, true
		}
		if m, ok = val.(map[string]any); !ok {
			return nil, false
		}
		path = rest
	}
}

// Names of the variables mos itself sets.
const (
	MosVersion  = "mos.version"
	MosPlatform = "mos.platform"
	Manifest    = "manifest"
)

// Get reads the variable at path, applying the aliases described on Vars
// when the path itself is not stored.
func (v *Vars) Get(path string) (any, bool) {
	if val, ok := v.lookup(path); ok {
		return val, true
	}
	// The aliases, tried in this order; each alias is itself read with Get.
	if mod, ok := strings.CutSuffix(path, "_path"); ok {
		if val, ok := v.Get(ModulePathVar(mod)); ok {
			return val, true
		}
	}
	if path == "mos_version" {
		if val, ok := v.Get(MosVersion); ok {
			return val, true
		}
	}
	if path == "arch" || path == "mos.arch" || path == "platform" {
		return v.Get(MosPlatform)
	}
	if !strings.HasPrefix(path, Manifest+".") {
		return v.Get(Manifest + "." + path)
	}
	return nil, false
}

// Ident turns a lib or module name into an identifier: every character
// that is not a letter or a digit becomes '_' ("my-lib" -> "my_lib").
func Ident(name string) string {
	var b strings.Builder
	for _, c := range name {
		if !unicode.IsLetter(c) && !unicode.IsDigit(c) {
			c = '_'
		}
		b.WriteRune(c)
	}
	return b.String()
}

// ModulePathVar is the variable holding the dir of module name
// ("mos.modules.mongoose_os.path").
func ModulePathVar(name string) string {
	return "mos.modules." + Ident(name) + ".path"
}

// LibPathVar is the variable holding the dir of lib name
// ("mos.libs.my_lib.path").
func LibPathVar(name string) string {
	return "mos.libs." + Ident(name) + ".path"
}
