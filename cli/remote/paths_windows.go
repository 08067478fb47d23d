package remote

// hostSyntax is this OS's path syntax.
var hostSyntax = pathSyntax{windows: true}

// syncDir: Windows makes a rename durable with the file's own flush.
func syncDir(dir string) {}
