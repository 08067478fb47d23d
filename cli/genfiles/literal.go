package genfiles

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Values from manifests and build params reach make and the compiler as
// literal text: make never expands what they contain ($(shell ...),
// $(VAR)) and the recipe's shell never runs what they contain (backticks,
// $(...), ;). Quotes and backslashes in cflags and cdefs are still read as
// sh reads them (upstream libs write `STM32_PIN\(A,1,11\)` for a value
// with parentheses and `\"text\"` for a string), only nothing is expanded.

// ErrUnsafeValue is what a refused value's error is (errors.Is).
var ErrUnsafeValue = errors.New("unsafe value")

// ValueError is a value that cannot be passed on as literal text.
type ValueError struct {
	Key, Value, Why string
}

func (e *ValueError) Error() string {
	return fmt.Sprintf("%s: %q: %s", e.Key, e.Value, e.Why)
}

func (e *ValueError) Is(target error) bool { return target == ErrUnsafeValue }

// CFlags is the value of APP_CFLAGS / APP_CXXFLAGS, as text the recipe's
// shell reads back to exactly these compiler arguments: each flag split
// into words as sh splits it (quotes and backslashes removed, nothing
// expanded), then -D<name>=<value> for each cdef sorted by name, always
// one argument (its value unquoted the same way but never split). A word
// with characters the shell acts on is single-quoted; key names the field
// in errors ("cflags", "cxxflags").
func CFlags(key string, flags []string, cdefs map[string]string) (string, error) {
	var words []string
	for _, f := range flags {
		ws, err := shellWords(f, true)
		if err != nil {
			return "", &ValueError{Key: key, Value: f, Why: err.Error()}
		}
		words = append(words, ws...)
	}
	names := make([]string, 0, len(cdefs))
	for k := range cdefs {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		ws, err := shellWords(cdefs[k], false)
		if err != nil {
			return "", &ValueError{Key: "cdefs." + k, Value: cdefs[k], Why: err.Error()}
		}
		words = append(words, "-D"+k+"="+ws[0])
	}
	for i, w := range words {
		words[i] = ShellQuote(w)
	}
	return strings.Join(words, " "), nil
}

// shellWords reads s as sh reads words: '...' and "..." quote, a
// backslash escapes the next character (in "..." only $ ` " \ and
// newline), unquoted blanks separate words when split is set. Unlike sh,
// $ and ` are plain characters everywhere. Without split the result is
// one word.
func shellWords(s string, split bool) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			inWord = true
			if i+1 == len(s) {
				cur.WriteByte(c)
				break
			}
			i++
			if s[i] != '\n' {
				cur.WriteByte(s[i])
			}
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated ' quote")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("$`\"\\\n", s[i+1]) >= 0 {
					i++
					if s[i] != '\n' {
						cur.WriteByte(s[i])
					}
					continue
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, errors.New(`unterminated " quote`)
			}
			inWord = true
		case split && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord || !split {
		words = append(words, cur.String())
	}
	return words, nil
}

// ShellQuote returns w as one sh word: as it is when it holds only
// characters sh takes literally, else in single quotes.
func ShellQuote(w string) string {
	if w != "" && strings.Trim(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_+=.,/:@%^") == "" {
		return w
	}
	return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
}

// MakeLiteral is s as make text that expands to s: every $ doubled.
func MakeLiteral(s string) string {
	return strings.ReplaceAll(s, "$", "$$")
}

// BuildVarValue is a build var's value as make text. Build vars are make
// variables, and upstream libs refer to the SDK's in them
// (`MGOS_BL_BIN: $(MGOS_PLATFORM_PATH)/bin/bootloader.bin`), so a plain
// reference $(NAME) or ${NAME} is kept for make; any other $ is literal.
// A make function or shell command substitution ($(shell ...), $(cmd),
// `cmd`) is refused: a makefile may use the var in a recipe, where the
// shell would run it.
func BuildVarValue(name, v string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '`':
			return "", &ValueError{Key: "build_vars." + name, Value: v, Why: "a backtick would run a command in a recipe"}
		case c == '$' && i+1 < len(v) && (v[i+1] == '(' || v[i+1] == '{'):
			end := byte(')')
			if v[i+1] == '{' {
				end = '}'
			}
			j := strings.IndexByte(v[i+2:], end)
			if j < 0 || !isMakeName(v[i+2:i+2+j]) {
				return "", &ValueError{Key: "build_vars." + name, Value: v,
					Why: "only plain make variable references such as $(NAME) are allowed, not make functions or shell commands"}
			}
			b.WriteString(v[i : i+3+j])
			i += 2 + j
		case c == '$':
			b.WriteString("$$")
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func isMakeName(s string) bool {
	return s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == ""
}

// CheckShellSafe refuses a value that make passes to recipes unquoted
// (file paths, the app name and version, ffi symbols) when it holds a
// character the shell would act on: there is no quoting it that every
// makefile would keep.
func CheckShellSafe(key, v string) error {
	if i := strings.IndexAny(v, "`$'\"\\;&|<>\n\r"); i >= 0 {
		return &ValueError{Key: key, Value: v, Why: fmt.Sprintf("%q is a character the shell would act on in a recipe", v[i])}
	}
	return nil
}
