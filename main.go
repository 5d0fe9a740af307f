// Command optlab is a terminal lab for making neural networks smaller and
// faster. Run alone it opens the lab (a terminal UI); its subcommands run the
// same experiments headless, printing readable progress or JSON lines.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// Exit codes, as design.md §3 fixes them.
const (
	exitOK       = 0
	exitFailed   = 1 // the run failed: diverged or cancelled
	exitBadUsage = 2 // bad usage or bad input
)

// usageError marks an error as the user's input being wrong (exit code 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func badInput(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// command is one subcommand: its name, its arguments and summary for the
// usage text, and what runs it.
type command struct {
	name, args, summary string
	run                 func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands are the subcommands in the order the usage text lists them.
var commands = []command{
	{"datasets", "", "list the built-in datasets", func(_ context.Context, args []string, stdout, stderr io.Writer) error {
		return cmdDatasets(args, stdout, stderr)
	}},
	{"train", "[flags]", "train a model", cmdTrain},
	{"eval", "[flags]", "evaluate a saved model on a dataset", cmdEval},
	{"arch", "[flags]", "compare architectures (mlp, cnn, mobile) on one split", cmdArch},
	{"prune", "[flags]", "prune a saved model (and fine-tune it)", cmdPrune},
	{"quantize", "[flags]", "quantize a saved model (int8 and below, QAT)", cmdQuantize},
	{"distill", "[flags]", "distill a saved teacher into a smaller student", cmdDistill},
	{"tune", "[flags]", "search hyperparameters (grid, random, asha, hyperband, tpe)", cmdTune},
	{"fetch", "NAME", "download mnist or fashion-mnist into the cache", cmdFetch},
	{"serve", "[flags]", "serve the lab over SSH, one lab per session", cmdServe},
	{"bench", "[flags]", "measure training, inference and GEMM speed", cmdBench},
}

// usage is the text of 'optlab help', listing the commands.
var usage = usageText()

func usageText() string {
	var b strings.Builder
	b.WriteString("optlab: a terminal lab for making neural networks smaller and faster\n\nUsage:\n")
	line := func(synopsis, summary string) { fmt.Fprintf(&b, "  %-38s %s\n", synopsis, summary) }
	line("optlab [--data NAME|PATH] [--seed N]", "open the lab (terminal UI)")
	for _, c := range commands {
		synopsis := "optlab " + c.name
		if c.args != "" {
			synopsis = fmt.Sprintf("optlab %-8s %s", c.name, c.args)
		}
		line(synopsis, c.summary)
	}
	b.WriteString("\nRun 'optlab COMMAND --help' for a command's flags.\n")
	return b.String()
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command line and returns its exit code. Errors are printed
// to stderr as one line starting "optlab: ".
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := dispatch(ctx, args, stdout, stderr)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errHelp):
		return exitOK
	case errors.As(err, new(usageError)):
		fmt.Fprintf(stderr, "optlab: %v\n", err)
		return exitBadUsage
	case errors.Is(err, context.Canceled):
		// Go's "context canceled" means nothing to a user who pressed ctrl+c.
		fmt.Fprintln(stderr, "optlab: interrupted: the run was cancelled")
		return exitFailed
	default:
		fmt.Fprintf(stderr, "optlab: %v\n", err)
		return exitFailed
	}
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := ""
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "":
		return cmdLab(ctx, args, stdout, stderr)
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	for _, c := range commands {
		if c.name == cmd {
			return c.run(ctx, args, stdout, stderr)
		}
	}
	return badInput("unknown command %q (run 'optlab help')", cmd)
}
