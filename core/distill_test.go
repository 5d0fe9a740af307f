package core

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestDistillLossGradient(t *testing.T) {
	for _, cfg := range []DistillConfig{
		{Temperature: 1, Alpha: 0.5},
		{Temperature: 4, Alpha: 0.7},
		{Temperature: 0.5, Alpha: 1},
		{Temperature: 3, Alpha: 0},
	} {
		r := rand.New(rand.NewPCG(3, 4))
		logits := randTensor(r, 4, 5)
		teacher := randTensor(r, 4, 5)
		for i := range teacher.Data {
			teacher.Data[i] *= 3 // a confident teacher: peaked soft targets
		}
		labels := []int{1, -1, 4, 0} // the unlabelled row gets the distillation term only
		cfg, _ := cfg.withDefaults()
		dl := NewTensor(4, 5)
		distillBatch(logits, teacher, labels, cfg, dl)
		before := slices.Clone(teacher.Data)
		checkGrad(t, "logits", logits.Data, slices.Clone(dl.Data), func() float64 {
			l, _, _ := distillBatch(logits, teacher, labels, cfg, nil)
			return l
		})
		if !slices.Equal(teacher.Data, before) {
			t.Fatal("the loss modified the teacher's logits")
		}
	}
}

func TestDistillLossKnownAnswers(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	s := randTensor(r, 3, 4)
	cfg := DistillConfig{Temperature: 1, Alpha: 1}
	// A student that already matches its teacher has nothing to learn.
	dl := NewTensor(3, 4)
	l, _, labelled := distillBatch(s, s.Clone(), []int{-1, -1, -1}, cfg, dl)
	if math.Abs(l) > 1e-12 || labelled != 0 || slices.ContainsFunc(dl.Data, func(v float32) bool { return math.Abs(float64(v)) > 1e-7 }) {
		t.Fatalf("student = teacher: loss %g, gradient %v, %d labelled", l, dl.Data, labelled)
	}
	// At T = 1 and Alpha = 1 the gradient is (q - p)/n.
	teacher := randTensor(r, 3, 4)
	distillBatch(s, teacher, []int{0, 1, 2}, cfg, dl)
	q, p := Softmax(nil, s, 1), Softmax(nil, teacher, 1)
	for i := range dl.Data {
		if want := (q.Data[i] - p.Data[i]) / 3; math.Abs(float64(dl.Data[i]-want)) > 1e-6 {
			t.Fatalf("gradient[%d] = %g, want (q-p)/n = %g", i, dl.Data[i], want)
		}
	}
	// Huge logits must neither overflow nor produce 0·log 0 = NaN.
	big := TensorFrom([]float32{1000, 0, -1000}, 1, 3)
	l, _, _ = distillBatch(TensorFrom([]float32{-1000, 0, 1000}, 1, 3), big, []int{0}, DistillConfig{Temperature: 1, Alpha: 0.5}, NewTensor(1, 3))
	if math.IsNaN(l) || math.IsInf(l, 0) {
		t.Fatalf("loss of huge logits = %g", l)
	}
}

// TestDistillTemperature checks the two effects of T: soft targets flatten
// as T grows, and the T² factor keeps the gradient's magnitude independent of
// T. In the limit of high T the gradient becomes (s̃ - t̃)/(C·n), with s̃ and
// t̃ the logits minus their row means (Hinton et al. §2.1: distillation then
// matches logits).
func TestDistillTemperature(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	teacher := randTensor(r, 2, 5)
	for i := range teacher.Data {
		teacher.Data[i] *= 4
	}
	maxProb := func(temp float64) float32 { return slices.Max(Softmax(nil, teacher, temp).Row(0)) }
	if !(maxProb(1) > maxProb(4) && maxProb(4) > maxProb(20) && maxProb(1000) < 0.21) {
		t.Errorf("the teacher's top probability should fall towards 1/5 as T grows: %.3f, %.3f, %.3f, %.4f",
			maxProb(1), maxProb(4), maxProb(20), maxProb(1000))
	}

	s := randTensor(r, 2, 5)
	norm := func(temp float64) float64 {
		dl := NewTensor(2, 5)
		distillBatch(s, teacher, []int{-1, -1}, DistillConfig{Temperature: temp, Alpha: 1}, dl)
		var ss float64
		for _, v := range dl.Data {
			ss += float64(v) * float64(v)
		}
		return math.Sqrt(ss)
	}
	// Without T² these ratios would be 1/16 and 1/100.
	if ratio := norm(8) / norm(2); ratio < 0.5 || ratio > 2 {
		t.Errorf("gradient norm at T=8 is %.3g × that at T=2, want comparable", ratio)
	}
	if ratio := norm(100) / norm(10); ratio < 0.8 || ratio > 1.25 {
		t.Errorf("gradient norm at T=100 is %.3g × that at T=10, want about the same", ratio)
	}
	dl := NewTensor(2, 5)
	distillBatch(s, teacher, []int{-1, -1}, DistillConfig{Temperature: 1e4, Alpha: 1}, dl)
	for i := range 2 {
		sr, tr := s.Row(i), teacher.Row(i)
		var ms, mt float32
		for j := range 5 {
			ms += sr[j] / 5
			mt += tr[j] / 5
		}
		for j := range 5 {
			// 2e-3: the next term of the expansion is about |logit|/T ≈ 1e-3
			// relative to this one; q - p itself is computed in float64.
			want := ((sr[j] - ms) - (tr[j] - mt)) / (5 * 2)
			if got := dl.Row(i)[j]; math.Abs(float64(got-want)) > 2e-3*math.Max(1, math.Abs(float64(want))) {
				t.Errorf("T=1e4: gradient[%d][%d] = %.5f, logit matching gives %.5f", i, j, got, want)
			}
		}
	}
}

func TestDistillLossPicksTeacherRowsByIndex(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	all := randTensor(r, 6, 3) // the teacher's logits for 6 training samples
	logits := randTensor(r, 3, 3)
	idx, labels := []int{4, 0, 5}, []int{2, -1, 1}
	loss, err := DistillLoss(all, DistillConfig{Alpha: 0.6})
	if err != nil {
		t.Fatal(err)
	}
	got := NewTensor(3, 3)
	gl, _, _ := loss(logits, idx, labels, got)
	rows := NewTensor(3, 3)
	for i, j := range idx {
		copy(rows.Row(i), all.Row(j))
	}
	want := NewTensor(3, 3)
	wl, _, _ := distillBatch(logits, rows, labels, DistillConfig{Temperature: DefaultTemperature, Alpha: 0.6}, want)
	if gl != wl || !slices.Equal(got.Data, want.Data) {
		t.Fatalf("DistillLoss with indices %v: loss %g, gradient %v; want %g, %v", idx, gl, got.Data, wl, want.Data)
	}
}

func TestDistillTeacherLogitsMatchPredict(t *testing.T) {
	d := rings(300, 4) // more than one evaluation batch of 256
	m, _ := Build("mlp:8", []int{2}, d.Classes, BuildOptions{Seed: 1})
	m.Norm = FitStandardizer(d)
	got := TeacherLogits(m, d)
	want := m.Predict(d.X)
	if !slices.Equal(got.Data, want.Data) || !slices.Equal(got.Shape, []int{300, 2}) {
		t.Fatal("TeacherLogits differs from Predict over the whole set")
	}
}

// heldBack returns a copy of d with the labels of all but every keep-th
// sample set to -1.
func heldBack(d *Dataset, keep int) *Dataset {
	out := *d
	out.Y = slices.Clone(d.Y)
	for i := range out.Y {
		if i%keep != 0 {
			out.Y[i] = -1
		}
	}
	return &out
}

// ringsTeacher is a model trained on all the labels of rings.
func ringsTeacher(t *testing.T, train *Dataset) *Model {
	t.Helper()
	m, _ := Build("mlp:16,16", []int{2}, train.Classes, BuildOptions{Seed: 9})
	m.Norm = FitStandardizer(train)
	if _, err := Train(context.Background(), m, train, nil, TrainConfig{Epochs: 30, BatchSize: 32,
		Optimizer: OptimizerConfig{LR: 0.01}, Seed: 9}, nil); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDistillAlphaZeroIsScratchTraining(t *testing.T) {
	full := rings(400, 1)
	teacher := ringsTeacher(t, full)
	train, val := heldBack(full, 4), rings(100, 2)
	student := func() *Model {
		m, _ := Build("mlp:8", []int{2}, train.Classes, BuildOptions{Seed: 3, Dropout: 0.2})
		m.Norm = FitStandardizer(train)
		return m
	}
	cfg := TrainConfig{Epochs: 3, BatchSize: 16, Seed: 3}
	scratch, distilled := student(), student()
	rs, err := Train(context.Background(), scratch, train, val, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	rd, err := Distill(context.Background(), teacher, distilled, train, val, DistillConfig{Temperature: 4, Alpha: 0}, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range scratch.Params() {
		if !slices.Equal(p.W.Data, distilled.Params()[i].W.Data) {
			t.Fatalf("alpha = 0: parameter %d differs from scratch training", i)
		}
	}
	for e := range rs.History {
		a, b := rs.History[e], rd.History[e]
		if a.TrainLoss != b.TrainLoss || a.ValLoss != b.ValLoss || a.TrainAcc != b.TrainAcc {
			t.Fatalf("alpha = 0: epoch %d stats %+v, scratch %+v", e+1, b, a)
		}
	}
	other := student()
	if _, err := Distill(context.Background(), teacher, other, train, val, DistillConfig{Temperature: 4, Alpha: 0.1}, cfg, nil); err != nil {
		t.Fatal(err)
	}
	if slices.Equal(other.Params()[0].W.Data, scratch.Params()[0].W.Data) {
		t.Fatal("alpha = 0.1 gave the scratch weights: the teacher is ignored")
	}
}

// TestDistillLearnsFromUnlabelledSamples is the setting where distillation
// helps most: with 1 label in 40, the student that also learns the teacher's
// outputs on the unlabelled samples does better than the one that learns
// from the labels alone, with the same seed and the same steps.
func TestDistillLearnsFromUnlabelledSamples(t *testing.T) {
	full, test := rings(600, 1), rings(400, 3)
	teacher := ringsTeacher(t, full)
	train := heldBack(full, 40) // 15 labels
	cfg := TrainConfig{Epochs: 15, BatchSize: 32, Optimizer: OptimizerConfig{LR: 0.01}, Seed: 4}
	acc := func(alpha float64) float64 {
		m, _ := Build("mlp:16", []int{2}, train.Classes, BuildOptions{Seed: 4})
		m.Norm = FitStandardizer(train)
		if _, err := Distill(context.Background(), teacher, m, train, nil, DistillConfig{Temperature: 2, Alpha: alpha}, cfg, nil); err != nil {
			t.Fatal(err)
		}
		return Evaluate(m, test).Accuracy
	}
	scratch, distilled := acc(0), acc(0.9)
	if distilled < 0.95 || distilled < scratch+0.03 {
		t.Fatalf("accuracy with 15 labels: distilled %.3f, scratch %.3f; want distilled ≥ 0.95 and 3 points better", distilled, scratch)
	}
}

func TestDistillErrors(t *testing.T) {
	d := rings(50, 1)
	teacher, _ := Build("mlp:4", []int{2}, d.Classes, BuildOptions{})
	student, _ := Build("linear", []int{2}, d.Classes, BuildOptions{})
	three, _ := Build("linear", []int{2}, []string{"a", "b", "c"}, BuildOptions{})
	wide, _ := Build("linear", []int{3}, d.Classes, BuildOptions{})
	lossFn := func(*Tensor, []int, []int, *Tensor) (float64, int, int) { return 0, 0, 0 }
	for _, tc := range []struct {
		teacher, student *Model
		dcfg             DistillConfig
		tcfg             TrainConfig
		want             string
	}{
		{teacher, student, DistillConfig{Alpha: 1.5}, TrainConfig{}, "alpha"},
		{teacher, student, DistillConfig{Alpha: math.NaN()}, TrainConfig{}, "alpha"},
		{teacher, student, DistillConfig{Temperature: -1}, TrainConfig{}, "temperature"},
		{teacher, student, DistillConfig{Temperature: math.Inf(1)}, TrainConfig{}, "temperature"},
		{teacher, student, DistillConfig{}, TrainConfig{Loss: lossFn}, "Loss"},
		{teacher, three, DistillConfig{}, TrainConfig{}, "classes"},
		{wide, student, DistillConfig{}, TrainConfig{}, "features"},
	} {
		_, err := Distill(context.Background(), tc.teacher, tc.student, d, nil, tc.dcfg, tc.tcfg, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v, %+v: err = %v, want one mentioning %q", tc.dcfg, tc.tcfg, err, tc.want)
		}
	}
}
