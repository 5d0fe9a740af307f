package main

import (
	"context"
	"flag"
	"io"
	"strings"

	"github.com/optlab/optlab/core"
	"github.com/optlab/optlab/lab"
)

const trainSummary = `optlab train: train a model and report its accuracy, size and speed

  optlab train --data mnist-images.gz --model mlp:128 --epochs 10 --out base.safetensors`

func cmdTrain(ctx context.Context, args []string, stdout, _ io.Writer) error {
	var c commonFlags
	var s lab.TrainSpec
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	c.register(fs)
	fs.StringVar(&s.Model, "model", "mlp:128", "architecture: mlp:H1,H2,... (hidden layer sizes), linear, or for images cnn:C1,C2,...[@W] and mobile:C1,C2,...[@W]")
	fs.StringVar(&s.Activation, "act", "relu", "hidden activation: "+strings.Join(core.Activations, ", "))
	fs.StringVar(&s.Optimizer, "opt", "adam", "optimizer: "+strings.Join(core.Optimizers, ", "))
	fs.Float64Var(&s.LR, "lr", 0, "learning rate (default 0.001 for adam/adamw, 0.01 for sgd/momentum)")
	fs.IntVar(&s.Batch, "batch", 64, "mini-batch size")
	fs.IntVar(&s.Epochs, "epochs", 10, "training epochs")
	fs.Float64Var(&s.WeightDecay, "wd", 0, "weight decay")
	fs.Float64Var(&s.Dropout, "dropout", 0, "dropout rate after each hidden activation")
	fs.IntVar(&s.Patience, "patience", 0, "stop after this many epochs without a better validation loss (0: never)")
	fs.StringVar(&s.Schedule, "schedule", "constant", "learning-rate schedule: "+strings.Join(core.Schedules, ", "))
	if err := parseFlags(fs, args, stdout, trainSummary); err != nil {
		return err
	}
	if err := c.validate(); err != nil {
		return err
	}
	if err := validateTrainSpec(s); err != nil {
		return err
	}
	s.Data, s.Seed, s.Out = c.dataSpec(), c.seed, c.out
	fits := func(d lab.Splits) error {
		if err := core.ValidateSpecFor(s.Model, d.Train.SampleShape, d.Train.Classes); err != nil {
			return badInput("--model: %v", err)
		}
		return nil
	}
	return runHeadless(ctx, stdout, c, lab.TaskTrain, s, s.Job(), fits)
}

// validateTrainSpec checks the training flags before any work starts, so
// that mistakes get one line and exit code 2.
func validateTrainSpec(s lab.TrainSpec) error {
	if err := core.ValidateSpec(s.Model); err != nil {
		return badInput("--model: %v", err)
	}
	if err := oneOf("act", s.Activation, core.Activations); err != nil {
		return err
	}
	if err := oneOf("opt", s.Optimizer, core.Optimizers); err != nil {
		return err
	}
	if err := oneOf("schedule", s.Schedule, core.Schedules); err != nil {
		return err
	}
	if err := positive("epochs", s.Epochs); err != nil {
		return err
	}
	if err := positive("batch", s.Batch); err != nil {
		return err
	}
	if s.LR < 0 {
		return badInput("--lr must be positive (got %g)", s.LR)
	}
	if s.WeightDecay < 0 {
		return badInput("--wd must not be negative (got %g)", s.WeightDecay)
	}
	if s.Dropout < 0 || s.Dropout >= 1 {
		return badInput("--dropout must be in [0, 1) (got %g)", s.Dropout)
	}
	if s.Patience < 0 {
		return badInput("--patience must not be negative (got %d)", s.Patience)
	}
	return nil
}

// runHeadless runs one job on a fresh lab and prints its events and result.
// The data is loaded before the job starts, and given to fits when it is
// not nil, so a bad file, or a model that does not fit the data, is reported
// as bad input (exit 2) rather than as a failed run.
func runHeadless(ctx context.Context, stdout io.Writer, c commonFlags, task string, config any, job lab.Job,
	fits func(lab.Splits) error) error {
	l := lab.New(lab.Options{Workers: 1})
	defer l.Shutdown(defaultShutdown)
	if c.data != "" {
		d, err := l.Data(ctx, c.dataSpec())
		if err != nil {
			return usageError{err}
		}
		if fits != nil {
			if err := fits(d); err != nil {
				return err
			}
		}
	}
	rep := newReporter(stdout, c.json)
	res, err := follow(ctx, l, rep, task, config, job)
	if err != nil {
		return err
	}
	return rep.result(res)
}
