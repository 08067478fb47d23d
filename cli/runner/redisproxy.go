package runner

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// keyPrefixes place a build's keys on the redis remote: SET goes to
// write+key, GET tries read[0]+key, read[1]+key... in turn.
type keyPrefixes struct {
	write string
	read  []string
}

// redisProxy accepts connections on a unix socket, for a build without
// network, and answers each with a connection of its own to the redis
// remote, passing on only what ccache sends (GET key, SET key value,
// PING) with the keys moved under the build's prefixes. A build cannot
// run any other command (FLUSHALL, CONFIG, KEYS...), nor name a key of
// another namespace, nor learn the remote's password: the proxy logs in.
type redisProxy struct {
	ln   net.Listener
	addr string
	url  *url.URL
	keys keyPrefixes
	wg   sync.WaitGroup
	mu   sync.Mutex
	open map[net.Conn]bool
}

// maxRedisValue bounds one value a build sends or gets (a compile's
// result); redis's own limit is 512 MB.
const maxRedisValue = 256 << 20

func proxyRedis(sock, addr string, u *url.URL, keys keyPrefixes) (*redisProxy, error) {
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return nil, fmt.Errorf("forwarding socket: %w", err)
	}
	p := &redisProxy{ln: ln, addr: addr, url: u, keys: keys, open: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

func (p *redisProxy) serve() {
	defer p.wg.Done()
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			out, err := net.DialTimeout("tcp", p.addr, dialTimeout)
			if err != nil {
				in.Close()
				return
			}
			if !p.track(in, out) {
				return
			}
			defer p.untrack(in, out)
			defer out.Close()
			defer in.Close()
			_ = p.session(in, out)
		}()
	}
}

// session logs in upstream, then answers the build's commands one by one.
func (p *redisProxy) session(in, out net.Conn) error {
	up := bufio.NewReader(out)
	// Login and database as the remote's URL says (ccache's syntax:
	// redis://[[USER:]PASSWORD@]HOST[:PORT][/DB]).
	if p.url.User != nil {
		user := p.url.User.Username()
		pw, hasPw := p.url.User.Password()
		args := []string{"AUTH", user}
		if hasPw {
			args = []string{"AUTH", user, pw}
			if user == "" {
				args = []string{"AUTH", pw}
			}
		}
		if err := upstreamOK(out, up, args...); err != nil {
			return fmt.Errorf("redis login: %w", err)
		}
	}
	if db := strings.TrimPrefix(p.url.Path, "/"); db != "" {
		if err := upstreamOK(out, up, "SELECT", db); err != nil {
			return fmt.Errorf("redis database %s: %w", db, err)
		}
	}
	client := bufio.NewReader(in)
	w := bufio.NewWriter(in)
	for {
		cmd, err := readCommand(client)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			fmt.Fprintf(w, "-ERR %s\r\n", oneLine(err.Error()))
			return w.Flush()
		}
		if err := p.answer(cmd, out, up, w); err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
}

// answer runs one command of the build.
func (p *redisProxy) answer(cmd [][]byte, out io.Writer, up *bufio.Reader, w *bufio.Writer) error {
	name := strings.ToUpper(string(cmd[0]))
	switch {
	case name == "PING" && len(cmd) == 1:
		_, err := w.WriteString("+PONG\r\n")
		return err
	case name == "GET" && len(cmd) == 2:
		for i, prefix := range p.keys.read {
			if err := writeCommand(out, []byte("GET"), append([]byte(prefix), cmd[1]...)); err != nil {
				return err
			}
			reply, err := readReply(up)
			if err != nil {
				return err
			}
			// A miss ($-1) falls through to the next prefix.
			if string(reply) != "$-1\r\n" || i == len(p.keys.read)-1 {
				_, err = w.Write(reply)
				return err
			}
		}
		_, err := w.WriteString("$-1\r\n")
		return err
	case name == "SET" && len(cmd) == 3:
		if err := writeCommand(out, []byte("SET"), append([]byte(p.keys.write), cmd[1]...), cmd[2]); err != nil {
			return err
		}
		reply, err := readReply(up)
		if err != nil {
			return err
		}
		_, err = w.Write(reply)
		return err
	}
	_, err := fmt.Fprintf(w, "-ERR %s: not a command the build server passes on (only GET key, SET key value, PING)\r\n", oneLine(name))
	return err
}

func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}

// upstreamOK sends a command to the remote and wants +OK.
func upstreamOK(out io.Writer, up *bufio.Reader, args ...string) error {
	b := make([][]byte, len(args))
	for i, a := range args {
		b[i] = []byte(a)
	}
	if err := writeCommand(out, b...); err != nil {
		return err
	}
	reply, err := readReply(up)
	if err != nil {
		return err
	}
	if string(reply) != "+OK\r\n" {
		return fmt.Errorf("%s refused: %s", args[0], strings.TrimSpace(string(reply)))
	}
	return nil
}

func writeCommand(w io.Writer, args ...[]byte) error {
	var b []byte
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, '\r', '\n')
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, '\r', '\n')
		b = append(b, a...)
		b = append(b, '\r', '\n')
	}
	_, err := w.Write(b)
	return err
}

// readLine reads one CRLF line of at most 64 KB, without the CRLF.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, errors.New("protocol error: line too long")
		}
		return nil, err
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return nil, errors.New("protocol error: line not ended by CRLF")
	}
	return line[:len(line)-2], nil
}

func readLength(r *bufio.Reader, kind byte, max int) (int, error) {
	line, err := readLine(r)
	if err != nil {
		return 0, err
	}
	if len(line) == 0 || line[0] != kind {
		return 0, fmt.Errorf("protocol error: want %q", kind)
	}
	n, err := strconv.Atoi(string(line[1:]))
	if err != nil || n < -1 || n > max {
		return 0, fmt.Errorf("protocol error: bad length %q", line[1:])
	}
	return n, nil
}

// readCommand reads one command of the build: an array of bulk strings
// (what ccache's hiredis sends; inline commands are refused).
func readCommand(r *bufio.Reader) ([][]byte, error) {
	n, err := readLength(r, '*', 16)
	if err != nil {
		return nil, err
	}
	if n < 1 {
		return nil, errors.New("protocol error: empty command")
	}
	cmd := make([][]byte, n)
	for i := range cmd {
		l, err := readLength(r, '$', maxRedisValue)
		if err != nil {
			return nil, err
		}
		if l < 0 {
			return nil, errors.New("protocol error: null argument")
		}
		b := make([]byte, l+2)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		cmd[i] = b[:l]
	}
	return cmd, nil
}

// readReply reads one reply of the remote, whole, as sent.
func readReply(r *bufio.Reader) ([]byte, error) {
	line, err := readLine(r)
	if err != nil {
		return nil, err
	}
	out := append(append([]byte(nil), line...), '\r', '\n')
	if len(line) == 0 {
		return nil, errors.New("protocol error: empty reply")
	}
	switch line[0] {
	case '+', '-', ':':
		return out, nil
	case '$':
		n, err := strconv.Atoi(string(line[1:]))
		if err != nil || n < -1 || n > maxRedisValue {
			return nil, fmt.Errorf("protocol error: bad length %q", line[1:])
		}
		if n < 0 {
			return out, nil
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		return append(out, b...), nil
	case '*':
		// Not one of GET's or SET's, but read whole all the same.
		n, err := strconv.Atoi(string(line[1:]))
		if err != nil || n < -1 || n > 1024 {
			return nil, fmt.Errorf("protocol error: bad array length %q", line[1:])
		}
		for i := 0; i < n; i++ {
			el, err := readReply(r)
			if err != nil {
				return nil, err
			}
			out = append(out, el...)
		}
		return out, nil
	}
	return nil, fmt.Errorf("protocol error: unexpected reply %q", oneLine(string(line)))
}

func (p *redisProxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.open == nil { // closed
		for _, c := range cs {
			c.Close()
		}
		return false
	}
	for _, c := range cs {
		p.open[c] = true
	}
	return true
}

func (p *redisProxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.open, c)
	}
}

// Close stops accepting, ends open connections and waits for them.
func (p *redisProxy) Close() error {
	err := p.ln.Close()
	p.mu.Lock()
	for c := range p.open {
		c.Close()
	}
	p.open = nil
	p.mu.Unlock()
	p.wg.Wait()
	return err
}
