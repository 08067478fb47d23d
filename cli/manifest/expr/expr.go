// Package expr is the small expression language of mos.yml: the `when:` of
// conds and the `${...}` substitutions in manifest values.
//
// An expression is split on runs of white space into either one operand or
// three tokens "operand operator operand". An operand is a string literal
// in double quotes (no escapes), defined(PATH), or a variable path read
// from Vars. The only operators are == and !=, and both sides must be
// strings. There is no &&, ||, negation, parentheses or number.
package expr

import (
	"errors"
	"fmt"
	"regexp"
)

var (
	blanks     = regexp.MustCompile(`\s+`)
	stringLit  = regexp.MustCompile(`^"[^"]*"$`)
	definedFn  = regexp.MustCompile(`^defined\(\s*([^)]+)\s*\)$`)
	substitute = regexp.MustCompile(`\$\{[^}]+\}`)
)

// SyntaxError is an expression that is neither one operand nor three
// tokens.
type SyntaxError struct {
	Expr string
}

func (e *SyntaxError) Error() string {
	return "can't parse the expression " + e.Expr
}

// UndefinedError is an operand naming a variable that does not exist.
type UndefinedError struct {
	Name string
}

func (e *UndefinedError) Error() string {
	return "failed to evaluate " + e.Name
}

// ErrNotString is wrapped by the error for a comparison with an operand
// that is not a string.
var ErrNotString = errors.New("only strings are allowed")

// ErrNotBool is wrapped by the error for a condition whose value is not a
// boolean.
var ErrNotBool = errors.New("expected bool")

// Eval evaluates expr against vars. The result is a string, a bool, a
// list, a map or nil, whatever the variable or comparison yields.
func Eval(vars *Vars, expr string) (any, error) {
	parts := blanks.Split(expr, -1)
	switch len(parts) {
	case 1:
		return operand(vars, parts[0])
	case 3:
		a, err := operand(vars, parts[0])
		if err != nil {
			return nil, err
		}
		b, err := operand(vars, parts[2])
		if err != nil {
			return nil, err
		}
		as, err := asString(a)
		if err != nil {
			return nil, err
		}
		bs, err := asString(b)
		if err != nil {
			return nil, err
		}
		switch op := parts[1]; op {
		case "==":
			return as == bs, nil
		case "!=":
			return as != bs, nil
		default:
			return nil, fmt.Errorf("%q is not a valid operation", op)
		}
	}
	return nil, &SyntaxError{Expr: expr}
}

func asString(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%w, %T given (%v)", ErrNotString, v, v)
	}
	return s, nil
}

func operand(vars *Vars, tok string) (any, error) {
	if stringLit.MatchString(tok) {
		return tok[1 : len(tok)-1], nil
	}
	if m := definedFn.FindStringSubmatch(tok); m != nil {
		_, ok := vars.Get(m[1])
		return ok, nil
	}
	v, ok := vars.Get(tok)
	if !ok {
		return nil, &UndefinedError{Name: tok}
	}
	return v, nil
}

// EvalBool evaluates a condition: the result must be a boolean.
func EvalBool(vars *Vars, expr string) (bool, error) {
	v, err := Eval(vars, expr)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("%w, got %T (%v)", ErrNotBool, v, v)
	}
	return b, nil
}

// Text formats a value as a substitution writes it: Go's %v form
// ("true", the string itself, "[a b]", "map[k:v]").
func Text(v any) string {
	return fmt.Sprintf("%v", v)
}

// Mode says what Expand does with a ${...} that fails to evaluate.
type Mode int

const (
	// Strict makes a failing ${...} an error.
	Strict Mode = iota
	// Keep leaves a failing ${...} in the text as written.
	Keep
)

// Expand replaces every ${EXPR} in s (shortest match, up to the first
// '}') by the text of EXPR's value. Substituted text is not scanned again.
func Expand(vars *Vars, s string, mode Mode) (string, error) {
	var failure error
	out := substitute.ReplaceAllStringFunc(s, func(m string) string {
		v, err := Eval(vars, m[2:len(m)-1])
		if err != nil {
			if mode == Keep {
				return m
			}
			failure = err
			return ""
		}
		return Text(v)
	})
	if failure != nil {
		return "", fmt.Errorf("expanding expressions in %q: %w", s, failure)
	}
	return out, nil
}

// ExpandAll expands every string of list (see Expand); the result is a new
// slice, empty but non-nil for an empty list.
func ExpandAll(vars *Vars, list []string, mode Mode) ([]string, error) {
	out := make([]string, 0, len(list))
	for _, s := range list {
		e, err := Expand(vars, s, mode)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}
