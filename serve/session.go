package serve

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/ssh"
	bm "github.com/charmbracelet/wish/bubbletea"
	gossh "golang.org/x/crypto/ssh"

	"github.com/optlab/optlab/core"
	"github.com/optlab/optlab/lab"
	"github.com/optlab/optlab/tui"
)

// sessionUsage is shown for ssh HOST help (or -- --help).
const sessionUsage = `usage: ssh -t HOST [DATASET]
       ssh -t HOST -- [DATASET] [--seed N]   (OpenSSH needs "--" before flags)
  DATASET  a built-in dataset (%s)
           or a file in the server's data directory, by relative path
  --seed   seed for data splits, initialization and shuffling (default 1)
`

// sessionArgs is what the client's command line asks for.
type sessionArgs struct {
	data string
	seed uint64
	help bool
}

// parseArgs reads the command the client sent (ssh HOST moons --seed 3):
// an optional dataset, also accepted as --data, and --seed.
func parseArgs(args []string) (sessionArgs, error) {
	a := sessionArgs{seed: 1}
	fs := flag.NewFlagSet("optlab", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&a.data, "data", "", "")
	fs.Uint64Var(&a.seed, "seed", 1, "")
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				a.help = true
				return a, nil
			}
			return a, fmt.Errorf("%v (ssh HOST help shows the usage)", err)
		}
		if fs.NArg() == 0 {
			return a, nil
		}
		if a.data != "" {
			return a, fmt.Errorf("unexpected argument %q: one dataset only (ssh HOST help shows the usage)", fs.Arg(0))
		}
		if fs.Arg(0) == "help" {
			a.help = true
			return a, nil
		}
		a.data, args = fs.Arg(0), fs.Args()[1:]
	}
}

// stopReason says why the server ended a session.
type stopReason int32

const (
	stopNone     stopReason = iota // the user quit or hung up
	stopShutdown                   // the server is shutting down
)

// session is one SSH session's lab and program.
type session struct {
	id     uint64
	sess   ssh.Session
	lab    *sessionLab
	share  *slotShare
	ctx    context.Context // cancelled when the session ends: stops its runs
	cancel context.CancelFunc
	data   string
	seed   uint64
	begun  time.Time

	input *sessionInput // the session's input, once its program is made; set before the program runs

	mu      sync.Mutex
	program *tea.Program
	reason  stopReason
}

// sessionReport sums up an ended session, for the log and for tests.
type sessionReport struct {
	ID                       uint64
	User                     string
	Duration                 time.Duration
	Runs, Cancelled, Refused int64
	SlotsHeld                int // shared slots still held after cleanup: 0
	Running                  int // runs not ended after cleanup: 0
	Goroutines               int
	ShutDown                 bool
}

// attach records the session's program; it returns false, and the program
// must not run, when the session is already being stopped.
func (se *session) attach(p *tea.Program) bool {
	se.mu.Lock()
	defer se.mu.Unlock()
	if se.reason != stopNone {
		return false
	}
	se.program = p
	return true
}

// stop ends the session from the server's side: its runs are cancelled and
// its program quits; the handler then says why and closes the session.
func (se *session) stop(why stopReason) {
	se.mu.Lock()
	if se.reason == stopNone {
		se.reason = why
	}
	p := se.program
	se.mu.Unlock()
	se.cancel()
	if p != nil {
		// Quit waits until the program reads it, or until the program is
		// killed, which the session's end always does.
		go p.Quit()
	}
}

// sessionMiddleware gives each session its lab, and cleans up after the
// program (the next handler) returns: runs cancelled, lab shut down.
func (s *Server) sessionMiddleware(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		// A panic in one session (outside the program, which catches its
		// own) must not take the server and every other session down.
		defer func() {
			if r := recover(); r != nil {
				s.log.Error("session panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				fmt.Fprintln(sess.Stderr(), "optlab: internal error: this session was closed (the server goes on)")
				_ = sess.Exit(1)
			}
		}()
		args, err := parseArgs(sess.Command())
		if err != nil {
			refuse(sess, 2, err)
			return
		}
		if args.help {
			fmt.Fprintf(sess, sessionUsage, builtinNames())
			_ = sess.Exit(0)
			return
		}
		data, err := s.data.Resolve(args.data)
		if err != nil {
			s.log.Info("dataset refused", "user", sess.User(), "addr", sess.RemoteAddr().String(), "err", err)
			refuse(sess, 2, err)
			return
		}
		se, err := s.begin(sess, data, args.seed)
		if err != nil {
			refuse(sess, 1, err)
			return
		}
		defer s.end(se)
		next(sess)
	}
}

var errShuttingDown = errors.New("the server is shutting down; try again later")

// begin registers a new session and gives it a lab.
func (s *Server) begin(sess ssh.Session, data string, seed uint64) (*session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return nil, errShuttingDown
	}
	s.lastID++
	share := s.slots.share()
	l := lab.New(lab.Options{Workers: s.cfg.MaxJobs, Slots: share})
	ctx, cancel := context.WithCancel(sess.Context())
	se := &session{id: s.lastID, sess: sess, lab: &sessionLab{Lab: l, data: s.data}, share: share,
		ctx: ctx, cancel: cancel, data: data, seed: seed, begun: time.Now()}
	s.sessions[sess] = se
	s.handlers.Add(1)
	pty, _, _ := sess.Pty()
	key := "none"
	if pk := sess.PublicKey(); pk != nil {
		key = gossh.FingerprintSHA256(pk)
	}
	s.log.Info("session start", "id", se.id, "user", sess.User(), "addr", sess.RemoteAddr().String(), "key", key,
		"term", pty.Term, "size", fmt.Sprintf("%dx%d", pty.Window.Width, pty.Window.Height), "data", data,
		"sessions", len(s.sessions))
	return se, nil
}

// newProgram is the Bubble Tea middleware's program handler: the lab's UI
// for this session, drawn with the session's own renderer (the client's
// TERM, NO_COLOR and background), reading and writing the session.
func (s *Server) newProgram(sess ssh.Session) *tea.Program {
	s.mu.Lock()
	se := s.sessions[sess]
	s.mu.Unlock()
	if se == nil {
		return nil
	}
	if s.beforeProgram != nil {
		s.beforeProgram()
	}
	opts := []tea.ProgramOption{
		tea.WithAltScreen(),
		// The server's signals are the server's: a program must not quit
		// on them by itself (shutdown tells each session in turn).
		tea.WithoutSignalHandler(),
		tea.WithEnvironment(sess.Environ()),
	}
	// MakeRenderer asks the client's terminal for its background colour
	// and reads the answer from the session. Through sessionInput that
	// read gives up after queryWait, for clients that never answer.
	var r *lipgloss.Renderer
	if sess.EmulatedPty() {
		in := newSessionInput(sess)
		se.input = in
		r = bm.MakeRenderer(querySession{Session: sess, r: in.reader(queryWait)})
		opts = append(opts, tea.WithInput(in.reader(0)), tea.WithOutput(sess))
	} else { // a real PTY (not what this server allocates): wish's own way
		r = bm.MakeRenderer(sess)
		opts = append(opts, bm.MakeOptions(sess)...)
	}
	m := tui.New(se.ctx, se.lab, tui.Options{Data: se.data, Seed: se.seed, Renderer: r, Export: refuseExport,
		Open: se.lab.data.ResolveFile})
	p := tea.NewProgram(m, opts...)
	if !se.attach(p) {
		return nil
	}
	return p
}

// refuseExport is the TUI's policy over SSH for files it would write (an
// exported model, a study file): they would be written on the server,
// where the remote user cannot fetch them, and anywhere the server may
// write.
func refuseExport(string) (string, error) {
	return "", errors.New("files cannot be saved over SSH: they would be written on the server")
}

// end cleans up after a session: its runs are cancelled and waited for, and
// if the server ended it, the user is told why.
func (s *Server) end(se *session) {
	defer s.handlers.Done()
	se.cancel()
	se.mu.Lock()
	p, reason := se.program, se.reason
	se.mu.Unlock()
	if p != nil {
		p.Kill() // it has returned already; this releases a pending Quit
	}
	if se.input != nil {
		se.input.close()
	}
	se.lab.Shutdown(labShutdownTimeout)
	if reason == stopShutdown {
		fmt.Fprintln(se.sess, "optlab: the server is shutting down; your runs were stopped. Goodbye.")
	}

	s.mu.Lock()
	delete(s.sessions, se.sess)
	left := len(s.sessions)
	s.mu.Unlock()

	rep := sessionReport{ID: se.id, User: se.sess.User(), Duration: time.Since(se.begun),
		Runs: se.lab.started.Load(), Cancelled: se.lab.cancelled.Load(), Refused: se.lab.refused.Load(),
		SlotsHeld: se.share.Held(), Running: len(se.lab.Running()), Goroutines: runtime.NumGoroutine(),
		ShutDown: reason == stopShutdown}
	busy, waiting := s.slots.stats()
	s.log.Info("session end", "id", rep.ID, "user", rep.User, "duration", rep.Duration.Round(time.Millisecond),
		"runs", rep.Runs, "cancelled", rep.Cancelled, "slots_busy", busy, "slots_waiting", waiting,
		"sessions", left, "goroutines", rep.Goroutines)
	if s.onSessionEnd != nil {
		s.onSessionEnd(rep)
	}
}

// sessionLab is a session's lab as its TUI sees it: every job's config is
// checked for datasets outside the data directory before it starts (a
// refused job fails at once with the reason, which the screen shows), and
// runs are counted.
type sessionLab struct {
	*lab.Lab
	data *dataDir

	started, cancelled, refused atomic.Int64
}

// Start starts job unless its config names a file the session may not
// open, in which case the run fails with that message.
func (l *sessionLab) Start(ctx context.Context, task string, config any, job lab.Job) lab.RunID {
	if err := l.data.CheckConfig(config); err != nil {
		l.refused.Add(1)
		job = func(context.Context, core.Recorder) (*lab.Result, error) { return nil, err }
	}
	inner := job
	id := l.Lab.Start(ctx, task, config, func(ctx context.Context, rec core.Recorder) (*lab.Result, error) {
		res, err := inner(ctx, rec)
		if err != nil && ctx.Err() != nil {
			l.cancelled.Add(1)
		}
		return res, err
	})
	if id != 0 {
		l.started.Add(1)
	}
	return id
}
