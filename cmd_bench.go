package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/optlab/optlab/core"
)

const benchSummary = `optlab bench: measure the engine on the standard workloads

Trains the digits-sized MLP (64-128-64-10, batch 64) and the MNIST-sized
one (784-256-128-10, batch 128) with Adam on synthetic data of those
shapes, times single-sample latency and batch-256 throughput of both in
float32 and int8, and the float32 GEMM at 512x512x512 on 1 and 2 threads;
prints them with the CPU features and the kernels in use.
bench/pytorch_compare.py runs the same workloads in PyTorch.`

// benchWorkload is one of the standard MLPs, trained at its batch size on
// synthetic data of its shape.
type benchWorkload struct {
	Name     string `json:"name"`
	Model    string `json:"model"`
	Features int    `json:"features"`
	Batch    int    `json:"batch"`
	Samples  int    `json:"samples"` // training samples per epoch
}

// benchWorkloads are issue 10's: the sample counts are those `optlab train`
// trains on after its default splits (80% of 8000 digits-like and of
// 10000 MNIST test images, less 10% for validation).
var benchWorkloads = []benchWorkload{
	{Name: "64-128-64-10", Model: "mlp:128,64", Features: 64, Batch: 64, Samples: 5760},
	{Name: "784-256-128-10", Model: "mlp:256,128", Features: 784, Batch: 128, Samples: 7200},
}

type benchTrain struct {
	benchWorkload
	Optimizer     string  `json:"optimizer"`
	Epochs        int     `json:"epochs"`
	SamplesPerSec float64 `json:"samples_per_sec"`
}

type benchInfer struct {
	Name          string  `json:"name"`
	Kind          string  `json:"kind"` // float32 or int8
	LatencyUS     float64 `json:"latency_us"`
	ThroughputSPS float64 `json:"throughput_sps"`
}

type benchGEMM struct {
	Size    int     `json:"size"`
	Threads int     `json:"threads"`
	GFLOPS  float64 `json:"gflops"`
}

type benchResult struct {
	Type        string            `json:"type"`
	Task        string            `json:"task"`
	GOMAXPROCS  int               `json:"gomaxprocs"`
	CPUFeatures []string          `json:"cpu_features"`
	Kernels     map[string]string `json:"kernels"`
	Train       []benchTrain      `json:"train"`
	Inference   []benchInfer      `json:"inference"`
	GEMM        []benchGEMM       `json:"gemm"`
}

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	epochs := fs.Int("epochs", 5, "training epochs per workload")
	asJSON := fs.Bool("json", false, "print the result as one JSON object")
	seed := fs.Uint64("seed", 1, "seed for the synthetic data and initialization")
	if err := parseFlags(fs, args, stdout, benchSummary); err != nil {
		return err
	}
	if err := positive("epochs", *epochs); err != nil {
		return err
	}
	f32, i8 := core.Kernels()
	res := benchResult{Type: "result", Task: "bench", GOMAXPROCS: runtime.GOMAXPROCS(0),
		CPUFeatures: core.CPUFeatures(), Kernels: map[string]string{"float32_gemm": f32, "int8_gemm": i8}}
	if res.CPUFeatures == nil {
		res.CPUFeatures = []string{}
	}
	progress := func(format string, a ...any) {
		if !*asJSON {
			fmt.Fprintf(stderr, format+"\n", a...)
		}
	}
	for _, w := range benchWorkloads {
		progress("training %s ...", w.Name)
		d := benchData(w, *seed)
		m, err := core.Build(w.Model, []int{w.Features}, d.Classes, core.BuildOptions{Seed: *seed})
		if err != nil {
			return err
		}
		m.Norm = core.FitStandardizer(d)
		rep, err := core.Train(ctx, m, d, nil, core.TrainConfig{Epochs: *epochs, BatchSize: w.Batch,
			Optimizer: core.OptimizerConfig{Kind: "adam"}, Seed: *seed}, nil)
		if err != nil {
			return err
		}
		res.Train = append(res.Train, benchTrain{benchWorkload: w, Optimizer: "adam", Epochs: *epochs,
			SamplesPerSec: rep.SamplesPerSec})
		progress("timing inference of %s ...", w.Name)
		q, _, err := core.Quantize(m, d, core.QuantConfig{})
		if err != nil {
			return err
		}
		for _, v := range []struct {
			kind string
			m    *core.Model
		}{{"float32", m}, {"int8", q}} {
			if err := ctx.Err(); err != nil {
				return err
			}
			sp := core.MeasureSpeed(v.m, d, 2000)
			res.Inference = append(res.Inference, benchInfer{Name: w.Name, Kind: v.kind,
				LatencyUS: sp.LatencyMicros, ThroughputSPS: sp.Throughput})
		}
	}
	progress("timing the GEMM ...")
	for _, threads := range []int{1, 2} {
		if err := ctx.Err(); err != nil {
			return err
		}
		res.GEMM = append(res.GEMM, benchGEMM{Size: 512, Threads: threads,
			GFLOPS: core.MeasureGEMM(512, threads, 500*time.Millisecond)})
	}
	if *asJSON {
		b, err := json.Marshal(res)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(stdout, string(b))
		return err
	}
	return printBench(stdout, res)
}

// benchData returns w.Samples samples of w's shape in 10 Gaussian classes:
// the speed of training and inference does not depend on the values, only
// on the shapes, and synthetic data needs nothing downloaded.
func benchData(w benchWorkload, seed uint64) *core.Dataset {
	r := rand.New(rand.NewPCG(seed, 0xbe9c))
	d := &core.Dataset{Name: "synthetic", SampleShape: []int{w.Features},
		Classes: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}}
	centres := make([]float32, 10*w.Features)
	for i := range centres {
		centres[i] = float32(r.NormFloat64())
	}
	d.X = make([]float32, w.Samples*w.Features)
	d.Y = make([]int, w.Samples)
	for i := range d.Y {
		c := i % 10
		d.Y[i] = c
		for j := range w.Features {
			d.X[i*w.Features+j] = centres[c*w.Features+j] + float32(r.NormFloat64())
		}
	}
	return d
}

func printBench(w io.Writer, res benchResult) error {
	fmt.Fprintf(w, "optlab bench: GOMAXPROCS %d; CPU features: %s; kernels: float32 %s, int8 %s\n",
		res.GOMAXPROCS, strings.Join(res.CPUFeatures, " "), res.Kernels["float32_gemm"], res.Kernels["int8_gemm"])
	section := func(header string, rows func(tw *tabwriter.Writer)) error {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, header)
		rows(tw)
		return tw.Flush()
	}
	if err := section("TRAINING (ADAM)\tBATCH\tSAMPLES\tEPOCHS\tSAMPLES/S", func(tw *tabwriter.Writer) {
		for _, t := range res.Train {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\n", t.Name, t.Batch, t.Samples, t.Epochs, thousands(t.SamplesPerSec))
		}
	}); err != nil {
		return err
	}
	if err := section("INFERENCE\tKIND\tLATENCY µs\tBATCH-256 SAMPLES/S", func(tw *tabwriter.Writer) {
		for _, i := range res.Inference {
			fmt.Fprintf(tw, "%s\t%s\t%.2f\t%s\n", i.Name, i.Kind, i.LatencyUS, thousands(i.ThroughputSPS))
		}
	}); err != nil {
		return err
	}
	return section("GEMM FLOAT32\tTHREADS\tGFLOP/S", func(tw *tabwriter.Writer) {
		for _, g := range res.GEMM {
			fmt.Fprintf(tw, "%dx%[1]dx%[1]d\t%d\t%.1f\n", g.Size, g.Threads, g.GFLOPS)
		}
	})
}
