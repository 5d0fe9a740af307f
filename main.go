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

const usage = `optlab: a terminal lab for making neural networks smaller and faster

Usage:
  optlab [--data NAME|PATH] [--seed N]   open the lab (terminal UI)
  optlab datasets                        list the built-in datasets
  optlab train    [flags]                train a model
  optlab eval     [flags]                evaluate a saved model on a dataset
  optlab arch     [flags]                compare architectures (mlp, cnn, mobile) on one split
  optlab prune    [flags]                prune a saved model (and fine-tune it)
  optlab quantize [flags]                quantize a saved model (int8 and below, QAT)
  optlab distill  [flags]                distill a saved teacher into a smaller student
  optlab tune     [flags]                search hyperparameters (grid, random, asha, hyperband, tpe)
  optlab fetch    NAME                   download mnist or fashion-mnist into the cache
  optlab serve    [flags]                serve the lab over SSH, one lab per session
  optlab bench    [flags]                measure training, inference and GEMM speed

Run 'optlab COMMAND --help' for a command's flags.
`

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
	case "datasets":
		return cmdDatasets(args, stdout, stderr)
	case "train":
		return cmdTrain(ctx, args, stdout, stderr)
	case "eval":
		return cmdEval(ctx, args, stdout, stderr)
	case "arch":
		return cmdArch(ctx, args, stdout, stderr)
	case "prune":
		return cmdPrune(ctx, args, stdout, stderr)
	case "quantize":
		return cmdQuantize(ctx, args, stdout, stderr)
	case "distill":
		return cmdDistill(ctx, args, stdout, stderr)
	case "tune":
		return cmdTune(ctx, args, stdout, stderr)
	case "fetch":
		return cmdFetch(ctx, args, stdout, stderr)
	case "serve":
		return cmdServe(ctx, args, stdout, stderr)
	case "bench":
		return cmdBench(ctx, args, stdout, stderr)
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return badInput("unknown command %q (run 'optlab help')", cmd)
}
