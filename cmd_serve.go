package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"

	"github.com/optlab/optlab/serve"
)

const serveSummary = `optlab serve: serve the lab over SSH, one lab and one terminal UI per session

  optlab serve --authorized-keys students.pub --data-dir ./data
  ssh -p 2222 -t HOST [DATASET]    (from the client; ssh -p 2222 -t HOST help for the session's options)`

// defaultListen is where optlab serve listens when --listen is not given:
// every interface when only authorized keys get in, else this machine only.
const (
	defaultListen     = ":2222"
	defaultOpenListen = "127.0.0.1:2222"
)

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	hostKeyDefault, err := serve.DefaultHostKeyPath()
	if err != nil {
		hostKeyDefault = "none: give --host-key"
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	listen := fs.String("listen", defaultListen, "address to listen on (without --authorized-keys: "+defaultOpenListen+")")
	hostKey := fs.String("host-key", "", "the server's private host key; an ed25519 key is generated there on first start and kept (default "+hostKeyDefault+")")
	authKeys := fs.String("authorized-keys", "", "authorized_keys file: only these public keys get in (default: anyone who can connect)")
	maxJobs := fs.Int("max-jobs", runtime.NumCPU(), "training jobs running at once, over all sessions, shared fairly")
	dataDir := fs.String("data-dir", "", "the only directory remote users may open dataset files from (default: built-in datasets only)")
	debug := fs.Bool("debug", false, "log more, and the goroutine count whenever it changes while no session is open")
	if err := parseFlags(fs, args, stdout, serveSummary); err != nil {
		return err
	}
	if err := positive("max-jobs", *maxJobs); err != nil {
		return err
	}
	listenSet := false
	fs.Visit(func(f *flag.Flag) { listenSet = listenSet || f.Name == "listen" })
	addr := *listen
	if *authKeys == "" && !listenSet {
		addr = defaultOpenListen
	}

	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	keyPath := *hostKey
	if keyPath == "" {
		if keyPath, err = serve.DefaultHostKeyPath(); err != nil {
			return badInput("serve: %v", err)
		}
	}
	srv, err := serve.New(serve.Config{HostKey: keyPath, AuthorizedKeys: *authKeys, MaxJobs: *maxJobs,
		DataDir: *dataDir, Debug: *debug,
		Log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))})
	if err != nil {
		return badInput("serve: %v", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if srv.HostKeyCreated() {
		fmt.Fprintf(stderr, "optlab serve: generated a new host key: %s\n", keyPath)
	}
	if srv.Open() {
		where := "only from this machine (give --listen to choose another address)"
		if listenSet {
			where = "from wherever " + ln.Addr().String() + " can be reached"
		}
		fmt.Fprintf(stderr, "optlab serve: no --authorized-keys: this server is OPEN TO ANYONE who can connect, %s\n", where)
	}
	data := "built-in datasets only"
	if d := srv.DataDir(); d != "" {
		data = "files from " + d + " and the built-in datasets"
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	fmt.Fprintf(stderr, "optlab serve: listening on %s (host key %s); %d training jobs at once; %s\n",
		ln.Addr(), srv.HostKeyFingerprint(), srv.MaxJobs(), data)
	fmt.Fprintf(stderr, "optlab serve: connect with: ssh -p %s -t HOST [DATASET]   (ssh ... HOST help for more)\n", port)
	return srv.Serve(ctx, ln)
}
