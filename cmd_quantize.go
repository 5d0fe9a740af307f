package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/optlab/optlab/core"
	"github.com/optlab/optlab/lab"
)

const quantizeSummary = `optlab quantize: quantize a saved model and compare it with the original
(accuracy, size on disk, latency, and per layer the signal-to-quantization-noise ratio)

  optlab quantize --model base.safetensors --bits 8 --out int8.safetensors
  optlab quantize --model base.safetensors --mode qat --bits 4 --epochs 3
  optlab quantize --model base.safetensors --mode weight-only --clip mse --sweep
  (without --data, the dataset and split recorded in the model file are used;
  calibration and QAT use its training split only)`

func cmdQuantize(ctx context.Context, args []string, stdout, _ io.Writer) error {
	var c commonFlags
	var s lab.QuantizeSpec
	var sweep bool
	fs := flag.NewFlagSet("quantize", flag.ContinueOnError)
	c.register(fs)
	fs.StringVar(&s.ModelFile, "model", "", "the model file to quantize (required)")
	fs.StringVar(&s.Mode, "mode", "ptq", "ptq (weights and activations, integer kernel), weight-only (activations stay float), qat (quantization-aware fine-tuning)")
	fs.IntVar(&s.Bits, "bits", 8, "weight bits, 2 to 8")
	fs.IntVar(&s.ActBits, "act-bits", 8, "ptq, qat: activation bits, 2 to 8")
	fs.StringVar(&s.Granularity, "granularity", "per-channel", "weight scales: per-channel (one per output unit) or per-tensor")
	fs.StringVar(&s.WeightScheme, "weight-scheme", "symmetric", "weights: symmetric (zero point 0) or asymmetric")
	fs.StringVar(&s.ActScheme, "act-scheme", "asymmetric", "ptq, qat: activations: asymmetric or symmetric")
	fs.IntVar(&s.Calib, "calib", core.DefaultCalib, "calibration samples, drawn from the training split")
	fs.StringVar(&s.Clip, "clip", "minmax", "clipping range: minmax, percentile, mse (least quantization error)")
	fs.Float64Var(&s.Percentile, "percentile", core.DefaultPercentile, "with --clip percentile: the percentile kept")
	fs.IntVar(&s.Epochs, "epochs", lab.DefaultQATEpochs, "qat: fine-tuning epochs")
	fs.Float64Var(&s.LR, "lr", lab.DefaultQATLR, "qat: fine-tuning learning rate")
	fs.StringVar(&s.Optimizer, "opt", "adam", "qat: optimizer: "+strings.Join(core.Optimizers, ", "))
	fs.IntVar(&s.Batch, "batch", 64, "qat: mini-batch size")
	fs.BoolVar(&sweep, "sweep", false, "run every bit width of "+bitList(lab.SweepBits)+" and print a table (--bits is ignored; --out saves the first)")
	c.dataFromModel(fs)
	data, err := c.parseWithModel(fs, args, stdout, quantizeSummary, &s.ModelFile)
	if err != nil {
		return err
	}
	s.Data = data
	if err := validateQuantizeFlags(fs, &s); err != nil {
		return err
	}
	if sweep {
		s.Sweep = lab.SweepBits
	}
	s.Seed, s.Out = c.seed, c.out
	return runOnBase(ctx, stdout, c.json, s.ModelFile, s.Data, core.CanQuantize, lab.TaskQuantize, s, s.Job(), printQuantize)
}

// validateQuantizeFlags checks the quantization flags before any work
// starts, so that mistakes get one line and exit code 2. Fine-tuning flags
// left at their defaults are cleared outside QAT, and given ones refused.
func validateQuantizeFlags(fs *flag.FlagSet, s *lab.QuantizeSpec) error {
	for _, f := range []struct {
		name, v string
		ok      []string
	}{
		{"mode", s.Mode, core.QuantModes}, {"granularity", s.Granularity, core.QuantGranularities},
		{"weight-scheme", s.WeightScheme, core.QuantSchemes}, {"act-scheme", s.ActScheme, core.QuantSchemes},
		{"clip", s.Clip, core.QuantClips}, {"opt", s.Optimizer, core.Optimizers},
	} {
		if err := oneOf(f.name, f.v, f.ok); err != nil {
			return err
		}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if s.Mode != "qat" {
		for _, name := range []string{"epochs", "lr", "opt", "batch"} {
			if set[name] {
				return badInput("--%s applies to --mode qat only", name)
			}
		}
		s.Epochs, s.LR, s.Optimizer, s.Batch = 0, 0, "", 0
	}
	if s.Mode == "weight-only" && (set["act-bits"] || set["act-scheme"]) {
		return badInput("--mode weight-only keeps activations float: drop --act-bits and --act-scheme")
	}
	if set["percentile"] && s.Clip != "percentile" {
		return badInput("--percentile applies to --clip percentile only")
	}
	if s.Mode == "qat" {
		if err := positive("epochs", s.Epochs); err != nil {
			return err
		}
		if err := positive("batch", s.Batch); err != nil {
			return err
		}
	}
	if err := positive("calib", s.Calib); err != nil {
		return err
	}
	if err := s.Validate(); err != nil {
		return badInput("%v", err)
	}
	return nil
}

func bitList(bits []int) string {
	s := make([]string, len(bits))
	for i, b := range bits {
		s[i] = fmt.Sprint(b)
	}
	return strings.Join(s, ",")
}

// printQuantize prints the quantized model's summary, its SQNR per layer and
// its change from the model it started from; a sweep prints one row per bit
// width instead.
func printQuantize(w io.Writer, res *lab.Result) {
	b := res.Baseline
	if len(res.Sweep) > 0 {
		fmt.Fprintf(w, "%s on %s, %s %s: test accuracy, size and latency per bit width\n\n", res.Arch, res.Dataset, res.Mode, res.Granularity)
		fmt.Fprintf(w, "%-8s %9s %8s %12s %7s %10s %13s\n", "bits", "accuracy", "change", "size", "ratio", "latency", "min SQNR (dB)")
		row := func(name string, r *lab.Result, sqnr string) {
			d := r.Compare(b)
			fmt.Fprintf(w, "%-8s %8.2f%% %+8.2f %12s %6.2fx %7.1f µs %13s\n", name, 100*r.TestAccuracy,
				d.AccuracyPoints, thousands(float64(r.SizeBytes)), d.SizeRatio, r.LatencyMicros, sqnr)
		}
		row("float32", b, "")
		for _, r := range res.Sweep {
			row(fmt.Sprint(r.Bits), r, minSQNR(r.QuantLayers))
		}
		if res.Out != "" {
			fmt.Fprintf(w, "\nthe %d-bit model is saved to %s\n", res.Bits, res.Out)
		}
		return
	}
	rep := newReporter(w, false)
	rep.result(res)
	fmt.Fprintf(w, "  %-14s %s, %d-bit weights, %s\n", "quantization", res.Mode, res.Bits, res.Granularity)
	fmt.Fprintf(w, "    %-12s %16s %16s %22s\n", "layer", "weight SQNR (dB)", "output SQNR (dB)", "weight step")
	for _, l := range res.QuantLayers {
		fmt.Fprintf(w, "    %-12s %16s %16s %22s\n", l.Name, dB(l.WeightSQNR), dB(l.OutputSQNR), fmt.Sprintf("%.3g – %.3g", l.ScaleMin, l.ScaleMax))
	}
	if b == nil {
		return
	}
	fmt.Fprintf(w, "  %-14s %.2f%% accuracy, %s bytes, %.1f µs\n", "baseline",
		100*b.TestAccuracy, thousands(float64(b.SizeBytes)), b.LatencyMicros)
	d := res.Compare(b)
	fmt.Fprintf(w, "  %-14s %+.2f points, %.2fx the size, %.2fx the latency\n", "change",
		d.AccuracyPoints, d.SizeRatio, d.LatencyRatio)
	if d.Note != "" {
		fmt.Fprintf(w, "  %-14s %s\n", "note", d.Note)
	}
}

func dB(v *float64) string {
	if v == nil {
		return "exact"
	}
	return fmt.Sprintf("%.1f", *v)
}

// minSQNR is the lowest output SQNR over the layers: the worst layer.
func minSQNR(ls []lab.QuantLayer) string {
	var low *float64
	for _, l := range ls {
		if l.OutputSQNR != nil && (low == nil || *l.OutputSQNR < *low) {
			low = l.OutputSQNR
		}
	}
	return dB(low)
}
