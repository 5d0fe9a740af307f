package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/optlab/optlab/datasets"
	"github.com/optlab/optlab/lab"
)

// errHelp is returned after a command printed its help on request.
var errHelp = errors.New("help shown")

// commonFlags are the flags every subcommand shares (design.md §3).
type commonFlags struct {
	data     string
	label    string
	testFrac float64
	seed     uint64
	json     bool
	out      string
}

func (c *commonFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.data, "data", datasets.Default, "a built-in dataset name, a .csv file, or an IDX images file")
	fs.StringVar(&c.label, "label", "", "CSV label column, by header name or 0-based index (default: the last column)")
	fs.Float64Var(&c.testFrac, "test-frac", 0.2, "stratified held-out test fraction")
	fs.Uint64Var(&c.seed, "seed", 1, "seed for data splits, initialization and shuffling")
	fs.BoolVar(&c.json, "json", false, "print JSON lines, one object per event; the last line is the result")
	fs.StringVar(&c.out, "out", "", "where to write the resulting model")
}

// dataFromModel makes --data default to the dataset and split recorded in a
// saved model file (eval, prune, quantize, distill): the flag shows no
// default, and modelDataSpec is the zero spec unless --data is given.
func (c *commonFlags) dataFromModel(fs *flag.FlagSet) {
	fs.Lookup("data").DefValue, c.data = "", ""
}

// parseWithModel parses the flags of a command that starts from the model
// file flag --model sets (in *file), runs the shared checks, requires the
// file, and returns the data to use: --data's, or the zero spec (the data
// recorded in the model file) without it.
func (c *commonFlags) parseWithModel(fs *flag.FlagSet, args []string, stdout io.Writer, summary string,
	file *string) (lab.DataSpec, error) {
	if err := parseFlags(fs, args, stdout, summary); err != nil {
		return lab.DataSpec{}, err
	}
	if err := c.validate(); err != nil {
		return lab.DataSpec{}, err
	}
	if *file == "" {
		return lab.DataSpec{}, badInput("%s: --model FILE is required", fs.Name())
	}
	return c.modelDataSpec(), nil
}

// modelDataSpec is the data given with --data, or the zero spec (the data
// recorded in the model file) without it.
func (c *commonFlags) modelDataSpec() lab.DataSpec {
	if c.data == "" {
		return lab.DataSpec{}
	}
	return c.dataSpec()
}

func (c *commonFlags) dataSpec() lab.DataSpec {
	return lab.DataSpec{Name: c.data, Label: c.label, TestFrac: c.testFrac, Seed: c.seed}
}

func (c *commonFlags) validate() error {
	if c.testFrac <= 0 || c.testFrac >= 1 {
		return badInput("--test-frac must be between 0 and 1 (got %g)", c.testFrac)
	}
	// A file that cannot be written is bad input, found before any training.
	if dir := filepath.Dir(c.out); c.out != "" {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return badInput("--out %s: no directory %s to write it in", c.out, dir)
		}
	}
	return nil
}

// parseFlags parses args into fs. Problems become one-line usage errors;
// --help prints the command's flags to stdout.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer, summary string) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(stdout, "%s\n\nFlags:\n", summary)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return errHelp
	}
	if err != nil {
		return badInput("%s: %v", fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return badInput("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

// positive checks that an integer flag is at least 1.
func positive(name string, v int) error {
	if v < 1 {
		return badInput("--%s must be at least 1 (got %d)", name, v)
	}
	return nil
}

func oneOf(name, v string, allowed []string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return badInput("--%s %q is not one of %s", name, v, strings.Join(allowed, ", "))
}
