package serve

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	gossh "golang.org/x/crypto/ssh"
)

// testServer is a server listening on a loopback port.
type testServer struct {
	*Server
	addr   string
	client gossh.Signer // an authorized key
	ends   chan sessionReport
	stop   context.CancelFunc
	done   chan error // Serve's result
}

func newSigner(t *testing.T) gossh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// startServer starts a server with one authorized key (unless cfg says
// otherwise) on 127.0.0.1:0; it is shut down when the test ends.
func startServer(t *testing.T, cfg Config, open bool) *testServer {
	t.Helper()
	dir := t.TempDir()
	ts := &testServer{client: newSigner(t), ends: make(chan sessionReport, 16), done: make(chan error, 1)}
	cfg.HostKey = filepath.Join(dir, "keys", "host_ed25519")
	if !open {
		cfg.AuthorizedKeys = filepath.Join(dir, "authorized_keys")
		line := "# the test's key\n" + string(gossh.MarshalAuthorizedKey(ts.client.PublicKey()))
		if err := os.WriteFile(cfg.AuthorizedKeys, []byte(line), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if testing.Verbose() {
		cfg.Log = testLogger(t)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv.onSessionEnd = func(r sessionReport) { ts.ends <- r }
	ts.Server = srv
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	ts.stop = cancel
	go func() { ts.done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-ts.done:
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return within 10s of shutdown")
		}
	})
	return ts
}

// dial connects with key, checking the server's host key.
func (ts *testServer) dial(key gossh.Signer) (*gossh.Client, error) {
	cfg := &gossh.ClientConfig{User: "student", Auth: []gossh.AuthMethod{gossh.PublicKeys(key)},
		HostKeyCallback: gossh.FixedHostKey(ts.hostKey.PublicKey()), Timeout: 5 * time.Second}
	return gossh.Dial("tcp", ts.addr, cfg)
}

// term is a client session with a PTY, whose output is collected and
// whose terminal queries (background colour, device attributes) are
// answered as a terminal emulator would.
type term struct {
	t     *testing.T
	sess  *gossh.Session
	stdin io.WriteCloser

	mu       sync.Mutex
	out      bytes.Buffer
	answered bool
	silent   bool // set before Start: never answer terminal queries
	closed   chan struct{}
}

// openTerm opens a session on client with a PTY of 120x40, the given
// environment, and runs command (the client's ssh arguments).
func openTerm(t *testing.T, client *gossh.Client, command string, env map[string]string) *term {
	t.Helper()
	return openTermWith(t, client, command, env, false)
}

// openTermWith is openTerm with a terminal that, if silent, never answers
// queries.
func openTermWith(t *testing.T, client *gossh.Client, command string, env map[string]string, silent bool) *term {
	t.Helper()
	sess, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range env {
		if err := sess.Setenv(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := sess.RequestPty("xterm-256color", 40, 120, gossh.TerminalModes{gossh.ECHO: 0}); err != nil {
		t.Fatal(err)
	}
	tm := &term{t: t, sess: sess, closed: make(chan struct{}), silent: silent}
	if tm.stdin, err = sess.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := sess.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var readers sync.WaitGroup
	readers.Add(2)
	go func() { defer readers.Done(); tm.read(stdout) }()
	go func() { defer readers.Done(); tm.read(stderr) }()
	go func() { readers.Wait(); close(tm.closed) }()
	if err := sess.Start(command); err != nil {
		t.Fatal(err)
	}
	return tm
}

func (tm *term) read(r io.Reader) {
	buf := make([]byte, 32*1024)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			tm.mu.Lock()
			tm.out.Write(buf[:n])
			answer := !tm.answered && !tm.silent && bytes.Contains(tm.out.Bytes(), []byte("\x1b[c"))
			tm.answered = tm.answered || answer
			tm.mu.Unlock()
			if answer { // a dark background, then the DA1 reply that ends the query
				_, _ = io.WriteString(tm.stdin, "\x1b]11;rgb:1e1e/1e1e/1e1e\x07\x1b[?62;22c")
			}
		}
		if err != nil {
			return
		}
	}
}

// text is everything received so far, without escape sequences.
func (tm *term) text() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return ansi.Strip(tm.out.String())
}

// raw is everything received so far.
func (tm *term) raw() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.out.String()
}

// waitFor waits until the output contains one of subs and returns it.
func (tm *term) waitFor(d time.Duration, subs ...string) string {
	tm.t.Helper()
	deadline := time.Now().Add(d)
	for {
		txt := tm.text()
		for _, s := range subs {
			if strings.Contains(txt, s) {
				return s
			}
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("no %q in the output within %v; it ends:\n%s", subs, d, tailOf(txt))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// wait waits for the session to end and returns how it ended; a session
// still open after d fails the test.
func (tm *term) wait(d time.Duration) error {
	tm.t.Helper()
	done := make(chan error, 1)
	go func() { done <- tm.sess.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		_ = tm.sess.Close()
		tm.t.Fatalf("the session was still open after %v; its output ends:\n%s", d, tailOf(tm.text()))
	}
	return nil
}

func tailOf(s string) string { return s[max(0, len(s)-1500):] }

func (tm *term) send(keys string) {
	tm.t.Helper()
	if _, err := io.WriteString(tm.stdin, keys); err != nil {
		tm.t.Fatalf("sending %q: %v", keys, err)
	}
}

// startLongRun goes to the Baseline screen, sets the epochs to the most
// the form takes (so that the run is still going whatever the machine) and
// starts training; it returns once the run is training.
func (tm *term) startLongRun() {
	tm.t.Helper()
	tm.send("2")
	tm.waitFor(5*time.Second, "press s")
	for _, k := range []string{"\x1b[B", "\x1b[B", "\x1b[B", "\x1b[B", "\x1b[B", "\r", "\x15", "10000", "\r", "s"} {
		tm.send(k) // one at a time: keys read together would arrive as one
		time.Sleep(20 * time.Millisecond)
	}
	tm.waitFor(30*time.Second, "run 1 training")
}

// waitEnd waits for the session's report.
func (ts *testServer) waitEnd(t *testing.T) sessionReport {
	t.Helper()
	select {
	case r := <-ts.ends:
		return r
	case <-time.After(15 * time.Second):
		t.Fatal("no session ended within 15s")
	}
	return sessionReport{}
}

// session returns the server's only open session, waiting for it.
func (ts *testServer) onlySession(t *testing.T) *session {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ts.mu.Lock()
		var se *session
		for _, s := range ts.sessions {
			se = s
		}
		n := len(ts.sessions)
		ts.mu.Unlock()
		if n == 1 {
			return se
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions open, want 1", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitGoroutines waits until the goroutine count is back to at most base.
func waitGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= base {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines 10s after the session ended, %d before it began:\n%s", n, base, buf)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// An authorized key gets the lab, drawn for its terminal, and can train.
func TestAuthorizedKeyGetsLabAndTrains(t *testing.T) {
	ts := startServer(t, Config{MaxJobs: 2}, false)
	client, err := ts.dial(ts.client)
	if err != nil {
		t.Fatalf("an authorized key was refused: %v", err)
	}
	defer client.Close()
	tm := openTerm(t, client, "moons", nil)
	tm.waitFor(10*time.Second, "Data")
	tm.waitFor(5*time.Second, "moons")
	if !strings.Contains(tm.raw(), "\x1b[38;5;") && !strings.Contains(tm.raw(), "\x1b[38;2;") {
		t.Error("no colour in the output of an xterm-256color session")
	}
	tm.send("2")
	tm.waitFor(5*time.Second, "press s")
	tm.send("s")
	tm.waitFor(60*time.Second, "finished")
	tm.send("q")
	if err := tm.wait(5 * time.Second); err != nil {
		t.Errorf("the session ended with %v after q", err)
	}
	r := ts.waitEnd(t)
	if r.Runs != 1 || r.Cancelled != 0 || r.SlotsHeld != 0 || r.Running != 0 {
		t.Errorf("report %+v: want one run, none cancelled, nothing held or running", r)
	}
}

// NO_COLOR from the client's environment turns colour off for that session.
func TestClientNoColor(t *testing.T) {
	ts := startServer(t, Config{MaxJobs: 1}, false)
	client, err := ts.dial(ts.client)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	tm := openTerm(t, client, "moons", map[string]string{"NO_COLOR": "1"})
	tm.waitFor(10*time.Second, "Data")
	tm.waitFor(5*time.Second, "moons")
	if raw := tm.raw(); strings.Contains(raw, "\x1b[38;") || strings.Contains(raw, "\x1b[48;") {
		t.Error("colour escapes in the output of a NO_COLOR session")
	}
	tm.send("q")
	_ = tm.wait(5 * time.Second)
	ts.waitEnd(t)
}

func TestUnknownKeyRefused(t *testing.T) {
	ts := startServer(t, Config{MaxJobs: 1}, false)
	client, err := ts.dial(newSigner(t))
	if err == nil {
		client.Close()
		t.Fatal("an unknown key got in")
	}
	if !strings.Contains(err.Error(), "unable to authenticate") {
		t.Fatalf("unexpected error: %v", err)
	}
}

// Without --authorized-keys anyone gets in, with any key or none.
func TestOpenServerLetsAnyoneIn(t *testing.T) {
	ts := startServer(t, Config{MaxJobs: 1}, true)
	client, err := ts.dial(newSigner(t))
	if err != nil {
		t.Fatalf("an open server refused a key: %v", err)
	}
	client.Close()
}

func TestSessionWithoutPTYRefused(t *testing.T) {
	ts := startServer(t, Config{MaxJobs: 1}, false)
	client, err := ts.dial(ts.client)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, err := sess.CombinedOutput("moons")
	var exit *gossh.ExitError
	if !errors.As(err, &exit) || exit.ExitStatus() != 1 {
		t.Errorf("exit: %v, want status 1", err)
	}
	if !strings.Contains(string(out), "needs a terminal: connect with ssh -t") {
		t.Errorf("output %q does not say a terminal is needed", out)
	}
	ts.mu.Lock()
	n := len(ts.sessions)
	ts.mu.Unlock()
	if n != 0 {
		t.Errorf("%d labs open for a refused session", n)
	}
}

// A dataset outside the data directory is refused with one line, and the
// session ends with status 2.
func TestDatasetOutsideDataDirRefused(t *testing.T) {
	dir, secret := fixtureDataDir(t)
	ts := startServer(t, Config{MaxJobs: 1, DataDir: dir}, false)
	client, err := ts.dial(ts.client)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	for _, c := range []struct{ arg, says string }{
		{"../secret.csv", "outside the data directory"},
		{secret, "outside the data directory"},
		{"evil.csv", "links to a file outside the data directory"},
		{"--data evil-rel.csv", "links to a file outside the data directory"},
	} {
		tm := openTerm(t, client, c.arg, nil)
		err := tm.wait(5 * time.Second)
		var exit *gossh.ExitError
		if !errors.As(err, &exit) || exit.ExitStatus() != 2 {
			t.Errorf("%s: exit %v, want status 2", c.arg, err)
		}
		<-tm.closed
		out := strings.TrimSpace(tm.text())
		if !strings.HasPrefix(out, "optlab: ") || !strings.Contains(out, c.says) || strings.Contains(out, "\n") {
			t.Errorf("%s: output %q, want one line saying %q", c.arg, out, c.says)
		}
		if strings.Contains(out, "hunter2") {
			t.Errorf("%s: the secret leaked", c.arg)
		}
	}
	// A file inside opens.
	tm := openTerm(t, client, "iris.csv", nil)
	tm.waitFor(10*time.Second, "iris")
	tm.send("q")
	_ = tm.wait(5 * time.Second)
	ts.waitEnd(t)
}

// Hanging up cancels the session's running job, frees its shared slot, and
// leaves no goroutine behind.
func TestDisconnectCancelsJobs(t *testing.T) {
	ts := startServer(t, Config{MaxJobs: 1}, false)
	time.Sleep(100 * time.Millisecond) // let the accept loop settle
	base := runtime.NumGoroutine()

	client, err := ts.dial(ts.client)
	if err != nil {
		t.Fatal(err)
	}
	tm := openTerm(t, client, "moons", nil)
	tm.waitFor(10*time.Second, "Data")
	tm.startLongRun()
	se := ts.onlySession(t)
	deadline := time.Now().Add(20 * time.Second)
	for se.share.Held() != 1 || len(se.lab.Running()) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the run did not start: held %d, running %v", se.share.Held(), se.lab.Running())
		}
		time.Sleep(10 * time.Millisecond)
	}
	client.Close() // hang up without quitting

	r := ts.waitEnd(t)
	if r.Cancelled != 1 || r.Running != 0 || r.SlotsHeld != 0 {
		t.Errorf("report %+v: want the run cancelled, nothing running or held", r)
	}
	if busy, waiting := ts.slots.stats(); busy != 0 || waiting != 0 {
		t.Errorf("shared slots: %d busy, %d waiting after the session ended", busy, waiting)
	}
	<-tm.closed
	waitGoroutines(t, base)
}

// The job limit is shared between sessions: with one slot, a second
// session's run waits until the first session's run ends.
func TestJobLimitSharedBetweenSessions(t *testing.T) {
	ts := startServer(t, Config{MaxJobs: 1}, false)
	ca, err := ts.dial(ts.client)
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close()
	cb, err := ts.dial(ts.client)
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close()
	a := openTerm(t, ca, "xor", nil)
	a.waitFor(10*time.Second, "Data")
	a.startLongRun()

	b := openTerm(t, cb, "moons", nil)
	b.waitFor(10*time.Second, "Data")
	b.send("2")
	b.waitFor(5*time.Second, "press s")
	b.send("s")
	b.waitFor(10*time.Second, "queued, waiting for a worker")
	// b's run stays queued while a's holds the only slot.
	var sa, sb *session
	ts.mu.Lock()
	for _, se := range ts.sessions {
		if se.data == "moons" {
			sb = se
		} else {
			sa = se
		}
	}
	ts.mu.Unlock()
	for range 10 {
		if sa.share.Held() != 1 || sb.share.Held() != 0 || len(sb.lab.Running()) != 1 {
			t.Fatalf("held a=%d b=%d, b's runs %v: want a's run running, b's queued",
				sa.share.Held(), sb.share.Held(), sb.lab.Running())
		}
		time.Sleep(30 * time.Millisecond)
	}

	ca.Close() // a leaves: its run is cancelled, b's gets the slot
	ts.waitEnd(t)
	b.waitFor(60*time.Second, "finished")
	b.send("q")
	_ = b.wait(5 * time.Second)
	ts.waitEnd(t)
}

// On shutdown every session is told, its runs stop, and Serve returns.
func TestShutdownTellsSessions(t *testing.T) {
	ts := startServer(t, Config{MaxJobs: 1}, false)
	client, err := ts.dial(ts.client)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	tm := openTerm(t, client, "moons", nil)
	tm.waitFor(10*time.Second, "Data")
	tm.startLongRun()

	begun := time.Now()
	ts.stop()
	select {
	case err := <-ts.done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
		ts.done <- err // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return within 10s")
	}
	if d := time.Since(begun); d > 5*time.Second {
		t.Errorf("shutdown took %v", d)
	}
	<-tm.closed
	tm.waitFor(time.Second, "the server is shutting down")
	r := ts.waitEnd(t)
	if !r.ShutDown || r.Cancelled != 1 || r.Running != 0 {
		t.Errorf("report %+v: want a shutdown with the run cancelled", r)
	}
	if _, err := ts.dial(ts.client); err == nil {
		t.Error("a connection was accepted after shutdown")
	}
}

func TestSessionArgs(t *testing.T) {
	for _, c := range []struct {
		args []string
		data string
		seed uint64
		bad  bool
	}{
		{nil, "", 1, false},
		{[]string{"moons"}, "moons", 1, false},
		{[]string{"moons", "--seed", "7"}, "moons", 7, false},
		{[]string{"--seed=3", "iris.csv"}, "iris.csv", 3, false},
		{[]string{"--data", "xor"}, "xor", 1, false},
		{[]string{"moons", "xor"}, "", 0, true},
		{[]string{"--seed", "x"}, "", 0, true},
		{[]string{"--bogus"}, "", 0, true},
		{[]string{"help"}, "", 1, false},
	} {
		a, err := parseArgs(c.args)
		if c.bad {
			if err == nil {
				t.Errorf("%q: accepted", c.args)
			}
			continue
		}
		if err != nil || a.data != c.data || a.seed != c.seed {
			t.Errorf("%q: %+v, %v; want data %q seed %d", c.args, a, err, c.data, c.seed)
		}
	}
}

// A panic while a session starts closes that session only, with a message,
// and cleans up its lab; the server goes on serving.
func TestSessionPanicDoesNotStopServer(t *testing.T) {
	ts := startServer(t, Config{MaxJobs: 1}, false)
	var once sync.Once
	ts.beforeProgram = func() { once.Do(func() { panic("boom") }) }
	client, err := ts.dial(ts.client)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	tm := openTerm(t, client, "moons", nil)
	var exit *gossh.ExitError
	if err := tm.wait(5 * time.Second); !errors.As(err, &exit) || exit.ExitStatus() != 1 {
		t.Errorf("exit %v, want status 1", err)
	}
	<-tm.closed
	if !strings.Contains(tm.text(), "internal error") {
		t.Errorf("output %q does not say what happened", tm.text())
	}
	if r := ts.waitEnd(t); r.Running != 0 {
		t.Errorf("report %+v", r)
	}
	tm = openTerm(t, client, "moons", nil) // the next session works
	tm.waitFor(10*time.Second, "Data")
	tm.send("q")
	_ = tm.wait(5 * time.Second)
	ts.waitEnd(t)
}

// A client whose terminal never answers the background-colour query still
// gets the lab, after a bounded wait, and its keys still arrive.
func TestSilentTerminalStillGetsLab(t *testing.T) {
	ts := startServer(t, Config{MaxJobs: 1}, false)
	client, err := ts.dial(ts.client)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	begun := time.Now()
	tm := openTermWith(t, client, "moons", nil, true)
	tm.waitFor(5*time.Second, "Data")
	if d := time.Since(begun); d > 3*time.Second {
		t.Errorf("the lab took %v to appear", d)
	}
	tm.send("2")
	tm.waitFor(5*time.Second, "press s")
	tm.send("q")
	if err := tm.wait(5 * time.Second); err != nil {
		t.Errorf("exit: %v", err)
	}
	ts.waitEnd(t)
}
