package filetree

// oNoFollow is 0 on Windows: os.OpenFile has no such flag there; callers
// Lstat first and check the opened file's type afterwards.
const oNoFollow = 0
