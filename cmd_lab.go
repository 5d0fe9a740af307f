package main

import (
	"context"
	"flag"
	"io"

	"github.com/optlab/optlab/datasets"
	"github.com/optlab/optlab/lab"
	"github.com/optlab/optlab/tui"
)

func cmdLab(ctx context.Context, args []string, stdout, _ io.Writer) error {
	fs := flag.NewFlagSet("optlab", flag.ContinueOnError)
	data := fs.String("data", datasets.Default, "a built-in dataset name, a .csv file, or an IDX images file")
	seed := fs.Uint64("seed", 1, "seed for data splits, initialization and shuffling")
	if err := parseFlags(fs, args, stdout, usage); err != nil {
		return err
	}
	l := lab.New(lab.Options{})
	defer l.Shutdown(defaultShutdown)
	// A bad file gets its one-line error before the terminal UI starts.
	if _, err := l.Data(ctx, lab.DataSpec{Name: *data, Seed: *seed}); err != nil {
		return usageError{err}
	}
	return tui.Run(ctx, l, tui.Options{Data: *data, Seed: *seed})
}
