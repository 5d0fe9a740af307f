package core

import (
	"slices"
	"time"
)

// ClassMetrics are one class's precision, recall and F1 score.
type ClassMetrics struct {
	Class     string  `json:"class"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	Support   int     `json:"support"` // samples of this class in the set
}

// Metrics are a model's figures on a labelled dataset.
type Metrics struct {
	Loss      float64        `json:"loss"`
	Accuracy  float64        `json:"accuracy"`
	Confusion [][]int        `json:"confusion"` // [true class][predicted class] counts
	PerClass  []ClassMetrics `json:"per_class"`
}

// evalBatch is the batch size used for evaluation passes.
const evalBatch = 256

// Evaluate computes loss, accuracy, the confusion matrix and per-class
// metrics of m on raw (unstandardized) data; m.Norm is applied to a copy.
func Evaluate(m *Model, d *Dataset) Metrics {
	if m.Norm != nil {
		d = m.Norm.Transform(d)
	}
	return evaluateStandardized(m, d)
}

func evaluateStandardized(m *Model, d *Dataset) Metrics {
	k := len(m.Classes)
	mt := Metrics{Confusion: make([][]int, k)}
	for i := range mt.Confusion {
		mt.Confusion[i] = make([]int, k)
	}
	n, f := d.Len(), d.Features()
	var sumLoss float64
	var correct, labelled int
	for s := 0; s < n; s += evalBatch {
		e := min(s+evalBatch, n)
		x := TensorFrom(d.X[s*f:e*f], e-s, f)
		logits := m.Forward(x, false)
		l, c, lab := SoftmaxCrossEntropy(logits, d.Y[s:e], nil)
		sumLoss += l * float64(lab)
		correct += c
		labelled += lab
		for i := range e - s {
			if y := d.Y[s+i]; y >= 0 {
				mt.Confusion[y][argmax(logits.Row(i))]++
			}
		}
	}
	if labelled > 0 {
		mt.Loss = sumLoss / float64(labelled)
	}
	mt.Accuracy = ratio(correct, labelled)
	for c := range k {
		cm := ClassMetrics{Class: m.Classes[c]}
		var predicted int
		for t := range k {
			predicted += mt.Confusion[t][c]
			cm.Support += mt.Confusion[c][t]
		}
		tp := mt.Confusion[c][c]
		cm.Precision, cm.Recall = ratio(tp, predicted), ratio(tp, cm.Support)
		if cm.Precision+cm.Recall > 0 {
			cm.F1 = 2 * cm.Precision * cm.Recall / (cm.Precision + cm.Recall)
		}
		mt.PerClass = append(mt.PerClass, cm)
	}
	return mt
}

func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// Speed is a model's measured inference speed.
type Speed struct {
	LatencyMicros float64 // median wall time of one single-sample forward pass
	Throughput    float64 // samples per second in batches of ThroughputBatch
}

// ThroughputBatch is the batch size of throughput measurements.
const ThroughputBatch = 256

// MeasureSpeed times m's inference on raw samples taken from d (cycling if d
// has fewer than ThroughputBatch). Each pass includes standardization, as
// real inference does. Latency is MeasureLatency's, over `reps` passes;
// throughput runs batches of 256 for at least 200 ms.
func MeasureSpeed(m *Model, d *Dataset, reps int) Speed {
	sp := Speed{LatencyMicros: MeasureLatency(m, d, reps)}
	f := numel(m.InShape)
	batch := NewTensor(ThroughputBatch, f)
	for i := range ThroughputBatch {
		copy(batch.Row(i), d.Sample(i%d.Len()))
	}
	work := NewTensor(ThroughputBatch, f)
	inferRaw(m, work, batch) // warm-up
	var done int
	start := time.Now()
	for done == 0 || time.Since(start) < 200*time.Millisecond {
		inferRaw(m, work, batch)
		done += ThroughputBatch
	}
	sp.Throughput = float64(done) / time.Since(start).Seconds()
	return sp
}

// MeasureLatency returns the median wall time, in microseconds, of m's
// single-sample forward pass on raw samples of d, standardization included,
// over reps passes (reps ≤ 0 means 300) after reps/5 more that warm caches
// and buffers up. It is MeasureSpeed without the throughput measurement,
// which takes 200 ms.
func MeasureLatency(m *Model, d *Dataset, reps int) float64 {
	if reps <= 0 {
		reps = 300
	}
	f := numel(m.InShape)
	one, src := NewTensor(1, f), NewTensor(1, f)
	times := make([]time.Duration, 0, reps)
	for i := range reps + reps/5 {
		copy(src.Data, d.Sample(i%d.Len()))
		t := time.Now()
		inferRaw(m, one, src)
		if i >= reps/5 {
			times = append(times, time.Since(t))
		}
	}
	slices.Sort(times)
	return float64(times[len(times)/2].Nanoseconds()) / 1e3
}

// inferRaw runs inference on the raw samples src, standardizing them into
// dst first.
func inferRaw(m *Model, dst, src *Tensor) {
	copy(dst.Data, src.Data)
	if m.Norm != nil {
		m.Norm.Apply(dst.Data)
	}
	m.Forward(dst, false)
}
