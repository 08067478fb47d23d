package cmdutil

// ExitError is an error that makes mos exit with Code (after printing
// Err as any error).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }
