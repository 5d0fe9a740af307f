package serve

import (
	"io"
	"os"
	"sync"
	"time"

	"github.com/charmbracelet/ssh"
)

// queryWait bounds how long a session's start waits for the client's
// terminal to answer the background-colour query of bm.MakeRenderer.
// Terminals answer at once; some clients (scripts, bare SSH libraries)
// never do, and without a bound their session would not start until the
// user typed something.
const queryWait = 900 * time.Millisecond

// sessionInput reads a session's input on one goroutine and hands it to
// whoever reads next: first the terminal query of MakeRenderer, which may
// give up waiting, then the program. A read that gives up loses nothing:
// what arrives later goes to the next reader. (Reads of an SSH channel
// cannot be interrupted, so giving up needs this go-between.)
type sessionInput struct {
	chunks chan []byte
	stop   chan struct{} // closed by close: reads end, the pump stops handing over

	mu   sync.Mutex // one reader at a time; guards rest
	rest []byte     // what the last reader did not take of a chunk

	once sync.Once
}

// newSessionInput starts pumping r. The pump ends when r does (the session
// closes) or, if it is holding a chunk nobody takes, when close is called.
func newSessionInput(r io.Reader) *sessionInput {
	in := &sessionInput{chunks: make(chan []byte), stop: make(chan struct{})}
	go func() {
		defer close(in.chunks)
		for {
			buf := make([]byte, 4096)
			n, err := r.Read(buf)
			if n > 0 {
				select {
				case in.chunks <- buf[:n]:
				case <-in.stop:
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	return in
}

// close ends every read in progress and to come with io.EOF.
func (in *sessionInput) close() { in.once.Do(func() { close(in.stop) }) }

// reader returns a reader of the input whose reads give up with
// os.ErrDeadlineExceeded once wait has passed (from the call of reader);
// wait 0 means never.
func (in *sessionInput) reader(wait time.Duration) io.Reader {
	r := &inputReader{in: in}
	if wait > 0 {
		r.deadline = time.Now().Add(wait)
	}
	return r
}

type inputReader struct {
	in       *sessionInput
	deadline time.Time
}

func (r *inputReader) Read(p []byte) (int, error) {
	in := r.in
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.rest) > 0 {
		n := copy(p, in.rest)
		in.rest = in.rest[n:]
		return n, nil
	}
	var timeout <-chan time.Time
	if !r.deadline.IsZero() {
		t := time.NewTimer(time.Until(r.deadline))
		defer t.Stop()
		timeout = t.C
	}
	select {
	case b, ok := <-in.chunks:
		if !ok {
			return 0, io.EOF
		}
		n := copy(p, b)
		in.rest = b[n:]
		return n, nil
	case <-in.stop:
		return 0, io.EOF
	case <-timeout:
		return 0, os.ErrDeadlineExceeded
	}
}

// querySession is a session whose input is read through r: what
// bm.MakeRenderer gets, so that its terminal query can give up.
type querySession struct {
	ssh.Session
	r io.Reader
}

func (q querySession) Read(p []byte) (int, error) { return q.r.Read(p) }
