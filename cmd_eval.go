package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/optlab/optlab/core"
	"github.com/optlab/optlab/lab"
)

// defaultShutdown bounds how long a command waits for its jobs to stop.
const defaultShutdown = 5 * time.Second

const evalSummary = `optlab eval: evaluate a saved model on the test split of a dataset

  optlab eval --model base.safetensors --data mnist-images.gz
  (without --data, the dataset and split recorded in the model file are used)`

func cmdEval(ctx context.Context, args []string, stdout, _ io.Writer) error {
	var c commonFlags
	var s lab.EvalSpec
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	c.register(fs)
	fs.StringVar(&s.ModelFile, "model", "", "the model file to evaluate (required)")
	c.dataFromModel(fs)
	data, err := c.parseWithModel(fs, args, stdout, evalSummary, &s.ModelFile)
	if err != nil {
		return err
	}
	m, _, err := core.LoadModel(s.ModelFile)
	if err != nil {
		return usageError{err}
	}
	s.Data = data
	fits := func(d lab.Splits) error {
		if err := lab.CheckFit(m, d); err != nil {
			return usageError{fmt.Errorf("%s: %w", s.ModelFile, err)}
		}
		return nil
	}
	return runHeadless(ctx, stdout, c, lab.TaskEval, s, s.Job(), fits)
}
