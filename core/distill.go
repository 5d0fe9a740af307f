package core

import (
	"context"
	"fmt"
	"math"
)

// DistillConfig configures knowledge distillation (Hinton, Vinyals and Dean,
// "Distilling the Knowledge in a Neural Network", 2015).
type DistillConfig struct {
	// Temperature softens the teacher's and the student's distributions
	// before they are compared; higher values reveal more of how the teacher
	// ranks the wrong classes. Default 4.
	Temperature float64
	// Alpha is the weight of the distillation term, in [0, 1]; the labels'
	// cross-entropy gets 1 - Alpha. It has no default: 0 means pure
	// cross-entropy, which trains exactly as Train without distillation does.
	Alpha float64
}

// DefaultTemperature is the temperature used when DistillConfig.Temperature is 0.
const DefaultTemperature = 4

// Validate reports whether c is usable: Temperature 0 (the default) or
// positive and finite, and Alpha in [0, 1].
func (c DistillConfig) Validate() error {
	_, err := c.withDefaults()
	return err
}

// withDefaults fills in the default temperature and checks the ranges.
func (c DistillConfig) withDefaults() (DistillConfig, error) {
	if c.Temperature == 0 {
		c.Temperature = DefaultTemperature
	}
	if !(c.Temperature > 0) || math.IsInf(c.Temperature, 0) {
		return c, fmt.Errorf("distillation temperature %g must be positive", c.Temperature)
	}
	if !(c.Alpha >= 0 && c.Alpha <= 1) {
		return c, fmt.Errorf("distillation weight alpha %g is outside [0, 1]", c.Alpha)
	}
	return c, nil
}

// TeacherLogits runs teacher over every sample of d (raw inputs: the
// teacher's own Norm is applied) and returns the logits, one row per sample
// in d's order. The teacher is fixed during distillation, so one pass before
// training replaces a teacher forward pass per batch.
func TeacherLogits(teacher *Model, d *Dataset) *Tensor {
	n, f, k := d.Len(), d.Features(), len(teacher.Classes)
	out := NewTensor(n, k)
	for s := 0; s < n; s += evalBatch {
		e := min(s+evalBatch, n)
		copy(out.Data[s*k:e*k], teacher.Predict(d.X[s*f:e*f]).Data)
	}
	return out
}

// DistillLoss returns the distillation loss for Train's TrainConfig.Loss.
// teacherLogits holds one row per training sample (see TeacherLogits); the
// loss picks the batch's rows by the sample indices it receives. For a batch
// of n rows, m of them labelled, with T the temperature, p = softmax(teacher/T)
// and q = softmax(student/T), the loss is
//
//	Alpha · T² · (1/n) Σ_rows KL(p ‖ q)  +  (1 - Alpha) · (1/m) Σ_labelled CE(label, softmax(student))
//
// Every row gets the distillation term and only labelled rows (label ≥ 0)
// the cross-entropy, each term a mean over the rows it covers. An unlabelled
// row thus weighs Alpha in the distillation term, like a labelled one: its
// soft targets count neither more nor less because a label was withheld, and
// Alpha = 0 ignores the teacher everywhere, which is exactly training from
// labels alone. The T² factor keeps the distillation gradient's magnitude
// about the same at any T (exactly so as T grows; it would shrink as 1/T²
// otherwise), so Alpha weighs the two terms alike at any temperature.
// correct and labelled count labelled rows, as SoftmaxCrossEntropy does.
// The returned function reuses a buffer between calls: give it to one
// training run at a time.
func DistillLoss(teacherLogits *Tensor, cfg DistillConfig) (LossFunc, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	var tb *Tensor // the batch's teacher rows, reused across batches
	return func(logits *Tensor, idx, labels []int, dlogits *Tensor) (float64, int, int) {
		c := logits.Cols()
		if teacherLogits.Cols() != c {
			panic(fmt.Sprintf("core: teacher has %d outputs, student %d", teacherLogits.Cols(), c))
		}
		tb = ensure(tb, len(idx), c)
		for i, j := range idx {
			if j >= teacherLogits.Rows() {
				panic(fmt.Sprintf("core: sample %d has no teacher logits (%d rows)", j, teacherLogits.Rows()))
			}
			copy(tb.Row(i), teacherLogits.Row(j))
		}
		return distillBatch(logits, tb, labels, cfg, dlogits)
	}, nil
}

// distillBatch computes DistillLoss's loss on one batch whose teacher logits
// are the rows of teacher, and writes its gradient into dlogits when not nil.
// cfg has its defaults filled in.
func distillBatch(logits, teacher *Tensor, labels []int, cfg DistillConfig, dlogits *Tensor) (float64, int, int) {
	// The cross-entropy part is SoftmaxCrossEntropy's own computation, scaled
	// below by 1 - Alpha; at Alpha = 0 that is ×1 + 0, which changes no bit,
	// so distillation with Alpha = 0 reproduces plain training exactly.
	ce, correct, labelled := SoftmaxCrossEntropy(logits, labels, dlogits)
	n, c := logits.Rows(), logits.Cols()
	t := cfg.Temperature
	wCE, wKL := float32(1-cfg.Alpha), cfg.Alpha*t*t
	// d(T² KL)/dstudent = T (q - p); the mean over rows divides by n.
	gKL := float32(cfg.Alpha * t / float64(n))
	lp, lq := make([]float64, c), make([]float64, c)
	var kl float64
	for i := range n {
		logSoftmax(lp, teacher.Row(i), t)
		logSoftmax(lq, logits.Row(i), t)
		for j := range c {
			// Written as p·(log p - log q) from log-probabilities, so a
			// vanishing p contributes 0 rather than 0·(-Inf).
			if p := math.Exp(lp[j]); p > 0 {
				kl += p * (lp[j] - lq[j])
			}
		}
		if dlogits == nil {
			continue
		}
		g := dlogits.Row(i)
		for j := range c {
			g[j] = wCE*g[j] + gKL*float32(math.Exp(lq[j])-math.Exp(lp[j]))
		}
	}
	return (1-cfg.Alpha)*ce + wKL*kl/float64(n), correct, labelled
}

// logSoftmax writes log softmax(z/t) into dst, in float64, subtracting the
// maximum first so that large logits do not overflow.
func logSoftmax(dst []float64, z []float32, t float64) {
	mx := float64(z[0])
	for _, v := range z {
		mx = max(mx, float64(v))
	}
	var sum float64
	for j, v := range z {
		dst[j] = (float64(v) - mx) / t
		sum += math.Exp(dst[j])
	}
	ls := math.Log(sum)
	for j := range dst {
		dst[j] -= ls
	}
}

// Distill trains student on train with the distillation loss of DistillLoss,
// the teacher's logits computed once beforehand with TeacherLogits. Samples
// labelled -1 in train contribute only the distillation term. Everything
// else is Train's: tcfg (whose Loss must be nil), validation on val, rec, the
// report and the errors. Training modifies student; the teacher is only read
// (its layers' buffers are reused, so it must not be used concurrently).
func Distill(ctx context.Context, teacher, student *Model, train, val *Dataset, dcfg DistillConfig, tcfg TrainConfig, rec Recorder) (TrainReport, error) {
	if tcfg.Loss != nil {
		return TrainReport{}, fmt.Errorf("distillation supplies its own loss; TrainConfig.Loss must be nil")
	}
	if train.Features() != numel(teacher.InShape) {
		return TrainReport{}, fmt.Errorf("the teacher takes %d features, the data has %d", numel(teacher.InShape), train.Features())
	}
	if len(teacher.Classes) != len(student.Classes) {
		return TrainReport{}, fmt.Errorf("the teacher predicts %d classes, the student %d", len(teacher.Classes), len(student.Classes))
	}
	// Validate before the teacher's pass over the data, which is the costly part.
	if err := dcfg.Validate(); err != nil {
		return TrainReport{}, err
	}
	loss, err := DistillLoss(TeacherLogits(teacher, train), dcfg)
	if err != nil {
		return TrainReport{}, err
	}
	tcfg.Loss = loss
	return Train(ctx, student, train, val, tcfg, rec)
}
