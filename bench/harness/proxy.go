package harness

import (
	"io"
	"net"
	"regexp"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy forwards TCP connections to a target and counts the bytes each way,
// so the figures are what really crossed the network, whatever the client
// and server do (full zips, delta requests, several requests per build).
// It also counts connections and HTTP requests (the round trips a build
// pays for), and imitates the link's delay (SetLink). Where the bench
// runs in its network namespace a tbf shapes the bandwidth (netns.go) and
// the link set here has no Rate; the proxy's rate is the fallback where
// that namespace or tc cannot be made.
type Proxy struct {
	ln       net.Listener
	target   string
	up       atomic.Int64 // client -> server
	down     atomic.Int64 // server -> client
	conns    atomic.Int64
	requests atomic.Int64
	link     atomic.Pointer[Link]
	wg       sync.WaitGroup
}

// Link is a network link the proxy imitates, each way: bytes leave at
// Rate (bytes per second, 0 for no limit) and arrive Delay later. Delay
// applies to the TCP handshake too (a connection is accepted, then the
// first byte waits as long as any).
type Link struct {
	Name  string
	Rate  int64
	Delay time.Duration
}

// NewProxy listens on a free 127.0.0.1 port and forwards to target.
func NewProxy(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// SetLink shapes the connections made from now on (nil: as fast as the
// machine goes).
func (p *Proxy) SetLink(l *Link) { p.link.Store(l) }

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Port is the proxy's port (a tbf shapes the traffic to and from it).
func (p *Proxy) Port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// Counts returns the bytes sent up and down so far.
func (p *Proxy) Counts() (up, down int64) { return p.up.Load(), p.down.Load() }

// Trips returns the connections made and HTTP requests sent so far.
func (p *Proxy) Trips() (conns, requests int64) { return p.conns.Load(), p.requests.Load() }

// Close stops accepting connections and waits for open ones to end.
func (p *Proxy) Close() error {
	err := p.ln.Close()
	p.wg.Wait()
	return err
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.conns.Add(1)
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.forward(c)
		}()
	}
}

func (p *Proxy) forward(c net.Conn) {
	defer c.Close()
	link := p.link.Load()
	if link != nil && link.Delay > 0 {
		// The handshake's round trip: SYN there, SYN-ACK back.
		time.Sleep(2 * link.Delay)
	}
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer s.Close()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn, n *atomic.Int64, requests *atomic.Int64) {
		// Counted as read, before forwarding: by the time the other side has
		// the bytes, they are in the count.
		var r io.Reader = countingReader{src, n}
		if requests != nil {
			r = &requestCounter{r: r, n: requests}
		}
		if link != nil && (link.Rate > 0 || link.Delay > 0) {
			shaped(dst, r, *link)
		} else {
			io.Copy(dst, r)
		}
		if tc, ok := dst.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(s, c, &p.up, &p.requests)
	go pipe(c, s, &p.down, nil)
	<-done
	<-done
}

// shaped copies src to dst through the link: a chunk read at t leaves
// once the link is free and has sent it at the link's rate, and is
// written Delay after that. A bounded queue between the two keeps the
// sender as far ahead as a link's buffer would.
func shaped(dst io.Writer, src io.Reader, l Link) {
	type chunk struct {
		b  []byte
		at time.Time // when it is delivered
	}
	q := make(chan chunk, 64)
	go func() {
		defer close(q)
		var free time.Time // when the link has sent everything queued
		for {
			b := make([]byte, 16<<10)
			n, err := src.Read(b)
			if n > 0 {
				now := time.Now()
				if free.Before(now) {
					free = now
				}
				if l.Rate > 0 {
					free = free.Add(time.Duration(int64(n) * int64(time.Second) / l.Rate))
				}
				q <- chunk{b[:n], free.Add(l.Delay)}
			}
			if err != nil {
				return
			}
		}
	}()
	failed := false
	for c := range q {
		if failed {
			continue // drain: the reader must not block
		}
		if d := time.Until(c.at); d > 0 {
			time.Sleep(d)
		}
		if _, err := dst.Write(c.b); err != nil {
			failed = true
		}
	}
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.n.Add(int64(k))
	return k, err
}

// requestLine matches an HTTP/1 request line; bodies (zips, JSON) do not
// hold one.
var requestLine = regexp.MustCompile(`(?:GET|POST|PUT|HEAD|DELETE) /[!-~]* HTTP/1\.[01]\r\n`)

// requestCounter counts the request lines that go through, also those
// split across reads.
type requestCounter struct {
	r    io.Reader
	n    *atomic.Int64
	tail []byte
}

func (c *requestCounter) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	if k > 0 {
		buf := append(c.tail, p[:k]...)
		for _, m := range requestLine.FindAllIndex(buf, -1) {
			if m[1] > len(c.tail) {
				c.n.Add(1)
			}
		}
		keep := min(len(buf), 512)
		c.tail = append([]byte(nil), buf[len(buf)-keep:]...)
	}
	return k, err
}
