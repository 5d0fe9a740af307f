package lab

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/optlab/optlab/core"
)

// TaskDistill is the task name of distillation runs.
const TaskDistill = "distill"

// TaskDistillScratch is the task of the result a distillation run registers
// beside its own: the first seed's scratch student (see Result.Scratch).
const TaskDistillScratch = "distill-scratch"

// Defaults of DistillSpec.
const (
	DefaultSeeds        = 3
	DefaultLabelledFrac = 1
)

// DistillSpec describes a distillation experiment: for each of Seeds seeds,
// one student trained from the teacher (the distilled student) and one
// trained from the labels alone (the scratch student), with the same seed,
// initialization, data order and budget. It is plain data: copy it freely,
// and pass it as the config of Start. Zero fields take the defaults of
// TrainSpec and core.DistillConfig, and those listed, except Alpha, whose
// zero means no distillation at all.
type DistillSpec struct {
	// Data names the dataset and its split, which must be the split the
	// teacher was trained on, or its test accuracy would be measured partly
	// on its own training samples. With Teacher set and Data.Name empty, the
	// data and split recorded in the teacher's file are used.
	Data DataSpec `json:"data,omitempty"`
	// Teacher is the teacher's model file. When it is empty, TeacherRun names
	// a finished run of the Lab whose model is the teacher; Data must then be
	// that run's.
	Teacher    string `json:"teacher,omitempty"`
	TeacherRun RunID  `json:"teacher_run,omitempty"`
	Student    string `json:"student,omitempty"`    // the student's architecture, e.g. "mlp:32"
	Activation string `json:"activation,omitempty"` // the student's hidden activation
	// Temperature and Alpha are core.DistillConfig's.
	Temperature float64 `json:"temperature,omitempty"`
	Alpha       float64 `json:"alpha,omitempty"`
	Epochs      int     `json:"epochs,omitempty"` // over the whole training split, labelled or not
	Batch       int     `json:"batch,omitempty"`
	LR          float64 `json:"lr,omitempty"`
	Optimizer   string  `json:"optimizer,omitempty"`
	// LabelledFrac is the fraction of each class of the training split that
	// keeps its label (see HoldBackLabels); default 1, all of them.
	LabelledFrac float64 `json:"labelled_frac,omitempty"`
	Seeds        int     `json:"seeds,omitempty"` // runs per student; default 3
	Seed         uint64  `json:"seed,omitempty"`  // the first seed; the runs use Seed, Seed+1, ...
	Out          string  `json:"out,omitempty"`   // where to save the first seed's distilled student
}

// Spread summarizes a figure measured once per seed.
type Spread struct {
	Mean float64   `json:"mean"`
	SD   float64   `json:"sd"`   // sample standard deviation (n - 1 in the denominator); 0 for one run
	Runs []float64 `json:"runs"` // in seed order
}

// spreadOf returns the mean and sample standard deviation of runs.
func spreadOf(runs []float64) *Spread {
	s := &Spread{Runs: runs}
	for _, v := range runs {
		s.Mean += v / float64(len(runs))
	}
	if len(runs) > 1 {
		var ss float64
		for _, v := range runs {
			ss += (v - s.Mean) * (v - s.Mean)
		}
		s.SD = math.Sqrt(ss / float64(len(runs)-1))
	}
	return s
}

// Phase labels of the Progress events of a distillation run.
const (
	// PhaseTeacher marks the one event sent before any student trains: the
	// teacher's validation loss and accuracy, as an EpochDone Stats with Epoch 0.
	PhaseTeacher = "teacher"
	// PhaseScratch and PhaseDistilled, followed by " seed N", mark the
	// students' training events.
	PhaseScratch   = "scratch"
	PhaseDistilled = "distilled"
)

// Job returns the distillation job: load the teacher and the data, measure
// the teacher (the result's Baseline), compute its logits on the training
// split once, then for each seed train the scratch student and then the
// distilled student, in that order and one at a time, each on the whole
// training split for Epochs epochs with that seed, and evaluate both on the
// test split. The Progress events of each student carry Stats.Phase
// "scratch seed N" or "distilled seed N". Both students of a seed see the
// same labels: with LabelledFrac < 1, each seed holds back its own
// stratified choice of labels (so the spread over seeds includes the luck of
// which samples are labelled); the scratch student learns from the labelled
// samples only, and the distilled one from the teacher on every sample and
// from the labels where kept. The validation split keeps all its labels; it
// only draws the curves and selects nothing.
//
// The result's model is the first seed's distilled student (the first, not
// the best, so that choosing it by its test accuracy cannot flatter the
// figures), measured and saved as TrainSpec's are; its TrainSeconds include
// the teacher's pass over the training split. Its Scratch is the first
// seed's scratch student, measured the same way (its size that of its
// encoded file; it is not saved) with the teacher as its Baseline, which the
// Lab registers as a result of its own.
func (s DistillSpec) Job() Job {
	return func(ctx context.Context, rec core.Recorder) (*Result, error) {
		s, err := s.Resolve()
		if err != nil {
			return nil, err
		}
		// Resolve has checked the teacher's file against s.Data, and filled
		// in its defaults: loadBase takes it as it is.
		teacher, base, data, err := openBase(ctx, s.Teacher, s.TeacherRun, s.Data,
			fmt.Errorf("run %d: a teacher from the lab's results needs a job started by the lab", s.TeacherRun),
			"distill from", s.CheckFit)
		if err != nil {
			return nil, err
		}
		if data.Val.Len() > 0 {
			vm := core.Evaluate(teacher, data.Val)
			// The teacher's line on the students' validation curves.
			if err := rec(core.Stats{Phase: PhaseTeacher, EpochDone: true, ValLoss: vm.Loss, ValAcc: vm.Accuracy}); err != nil {
				return nil, err
			}
		}

		start := time.Now()
		logits := core.TeacherLogits(teacher, data.Train)
		teacherSeconds := time.Since(start).Seconds()
		loss, err := core.DistillLoss(logits, core.DistillConfig{Temperature: s.Temperature, Alpha: s.Alpha})
		if err != nil {
			return nil, err
		}
		// Fitted on every training sample's features, labelled or not, and
		// shared by all students: it is only read.
		norm := core.FitStandardizer(data.Train)
		student := func(seed uint64) (*core.Model, error) {
			m, err := core.Build(s.Student, data.Train.SampleShape, data.Train.Classes,
				core.BuildOptions{Activation: s.Activation, Seed: seed})
			if m != nil {
				m.Norm = norm
			}
			return m, err
		}
		var scratchAcc, distilledAcc []float64
		var first, firstScratch *core.Model
		var firstRep, scratchRep core.TrainReport
		for k := range s.Seeds {
			seed := s.Seed + uint64(k)
			train := data.Train
			if s.LabelledFrac < 1 {
				train = HoldBackLabels(data.Train, s.LabelledFrac, seed)
			}
			for _, distill := range []bool{false, true} {
				m, err := student(seed)
				if err != nil {
					return nil, err
				}
				phase := fmt.Sprintf("%s seed %d", PhaseScratch, seed)
				cfg := core.TrainConfig{Epochs: s.Epochs, BatchSize: s.Batch, Seed: seed,
					Optimizer: core.OptimizerConfig{Kind: s.Optimizer, LR: s.LR}}
				if distill {
					phase = fmt.Sprintf("%s seed %d", PhaseDistilled, seed)
					cfg.Loss = loss
				}
				cfg.Stats = func(st *core.Stats) { st.Phase = phase }
				rep, err := core.Train(ctx, m, train, data.Val, cfg, rec)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", phase, err)
				}
				acc := core.Evaluate(m, data.Test).Accuracy
				if !distill {
					scratchAcc = append(scratchAcc, acc)
					if k == 0 {
						firstScratch, scratchRep = m, rep
					}
					continue
				}
				distilledAcc = append(distilledAcc, acc)
				if k == 0 {
					first, firstRep = m, rep
				}
			}
		}

		samples := firstRep.SamplesPerSec * firstRep.Seconds
		ta := base.TestAccuracy
		res := &Result{
			Task:              TaskDistill,
			Arch:              s.Student,
			TrainSeconds:      firstRep.Seconds + teacherSeconds,
			Epochs:            firstRep.Epochs,
			Seed:              s.Seed,
			Out:               s.Out,
			Baseline:          base,
			TeacherAccuracy:   &ta,
			ScratchAccuracy:   spreadOf(scratchAcc),
			DistilledAccuracy: spreadOf(distilledAcc),
			History:           firstRep.History,
		}
		if res.TrainSeconds > 0 {
			res.TrainSamplesPerSec = samples / res.TrainSeconds
		}
		if err := measure(ctx, res, first, data); err != nil {
			return nil, err
		}
		info := s.Data.ModelInfo(TaskDistill)
		info.TestAccuracy, info.Epochs, info.Seed = res.TestAccuracy, res.Epochs, s.Seed
		info.Optimizer, info.Activation = s.Optimizer, s.Activation
		if res.SizeBytes, err = save(s.Out, first, info); err != nil {
			return nil, err
		}
		if res.Scratch, err = s.scratchResult(ctx, firstScratch, scratchRep, base, data); err != nil {
			return nil, err
		}
		return res, nil
	}
}

// scratchResult is the record of the first seed's scratch student m,
// trained as rep says: measured like the distilled one, compared with the
// teacher (base), and sized by encoding it, without writing a file.
func (s DistillSpec) scratchResult(ctx context.Context, m *core.Model, rep core.TrainReport, base *Result, data Splits) (*Result, error) {
	if m == nil {
		return nil, nil // no seeds: no student
	}
	r := &Result{
		Task:               TaskDistillScratch,
		Arch:               s.Student,
		TrainSeconds:       rep.Seconds,
		TrainSamplesPerSec: rep.SamplesPerSec,
		Epochs:             rep.Epochs,
		Seed:               s.Seed,
		Stopped:            rep.Stopped,
		Baseline:           base,
		History:            rep.History,
	}
	if err := measure(ctx, r, m, data); err != nil {
		return nil, err
	}
	info := s.Data.ModelInfo(TaskDistillScratch)
	info.TestAccuracy, info.Epochs, info.Seed = r.TestAccuracy, r.Epochs, s.Seed
	info.Optimizer, info.Activation = s.Optimizer, s.Activation
	var err error
	if r.SizeBytes, err = save("", m, info); err != nil {
		return nil, err
	}
	return r, nil
}

// Resolve validates s and fills in its defaults and what the teacher's file
// implies: when Data.Name is empty, the data and split recorded in the file.
// It fails, without training anything, on a setting out of range, an
// unknown student architecture, an unreadable teacher file, or data that is
// another split of the teacher's dataset (the teacher's test accuracy would
// then be measured partly on its own training samples). The job resolves
// its spec first; call Resolve beforehand to tell bad input from a failed run.
func (s DistillSpec) Resolve() (DistillSpec, error) {
	if s.Seeds == 0 {
		s.Seeds = DefaultSeeds
	}
	if s.LabelledFrac == 0 {
		s.LabelledFrac = DefaultLabelledFrac
	}
	if s.Temperature == 0 {
		s.Temperature = core.DefaultTemperature
	}
	if s.Seeds < 0 {
		return s, fmt.Errorf("distill needs at least one seed, got %d", s.Seeds)
	}
	if !(s.LabelledFrac > 0 && s.LabelledFrac <= 1) {
		return s, fmt.Errorf("the labelled fraction %g is outside (0, 1]", s.LabelledFrac)
	}
	if err := (core.DistillConfig{Temperature: s.Temperature, Alpha: s.Alpha}).Validate(); err != nil {
		return s, err
	}
	if err := core.ValidateSpec(s.Student); err != nil {
		return s, err
	}
	if s.Teacher == "" {
		if s.TeacherRun == 0 {
			return s, fmt.Errorf("distill needs a teacher: a model file or a finished run of the lab")
		}
		if s.Data.Name == "" {
			return s, fmt.Errorf("distilling from run %d needs the dataset it was trained on", s.TeacherRun)
		}
		s.Data = s.Data.withDefaults()
		return s, nil
	}
	_, info, err := core.LoadModel(s.Teacher)
	if err != nil {
		return s, err
	}
	if s.Data, err = recordedData(s.Teacher, info, s.Data); err != nil {
		return s, err
	}
	s.Data = s.Data.withDefaults()
	return s, otherSplit(s.Teacher, info, s.Data, "distill on that split")
}

// CheckFit reports whether teacher and the student of s fit data: the
// teacher takes its samples and predicts its classes, and the student's
// architecture can be built for them. The job checks this after loading;
// call it beforehand to tell bad input from a failed run.
func (s DistillSpec) CheckFit(teacher *core.Model, data Splits) error {
	d := data.Train
	if got, want := d.Features(), featuresOf(teacher); got != want {
		return fmt.Errorf("the teacher takes %d features per sample, dataset %q has %d", want, d.Name, got)
	}
	if got := d.NumClasses(); got != len(teacher.Classes) {
		return fmt.Errorf("the teacher predicts %d classes, dataset %q has %d", len(teacher.Classes), d.Name, got)
	}
	_, err := core.Build(s.Student, d.SampleShape, d.Classes, core.BuildOptions{Activation: s.Activation})
	return err
}

// HoldBackLabels returns a copy of d in which only frac of each class's
// samples keep their label, the others being labelled -1 (unlabelled).
// Each class keeps round(frac × its count) labels, at least one, chosen at
// random for the seed; the same seed gives the same choice. Samples already
// unlabelled stay so. The copy shares d's features; d is not modified.
func HoldBackLabels(d *core.Dataset, frac float64, seed uint64) *core.Dataset {
	byClass := make([][]int, d.NumClasses())
	for i, y := range d.Y {
		if y >= 0 {
			byClass[y] = append(byClass[y], i)
		}
	}
	out := *d
	out.Y = make([]int, len(d.Y))
	for i := range out.Y {
		out.Y[i] = -1
	}
	r := rand.New(rand.NewPCG(seed, 0x1abe1))
	for _, idx := range byClass {
		keep := min(max(int(math.Round(frac*float64(len(idx)))), 1), len(idx))
		r.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
		for _, i := range idx[:keep] {
			out.Y[i] = d.Y[i]
		}
	}
	return &out
}
