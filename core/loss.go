package core

import (
	"fmt"
	"math"
)

// SoftmaxCrossEntropy computes the mean cross-entropy of softmax(logits)
// against labels, fused with its gradient: dlogits (same shape as logits,
// allocated if nil) receives (softmax - onehot)/n. Rows whose label is -1
// (unlabelled) contribute neither loss nor gradient; n counts labelled rows.
// It subtracts each row's maximum before exponentiating, so large logits do
// not overflow. It also returns how many labelled rows were classified
// correctly.
func SoftmaxCrossEntropy(logits *Tensor, labels []int, dlogits *Tensor) (loss float64, correct int, labelled int) {
	n, c := logits.Rows(), logits.Cols()
	if len(labels) != n {
		panic(fmt.Sprintf("core: %d labels for %d rows of logits", len(labels), n))
	}
	for _, y := range labels {
		if y >= 0 {
			labelled++
		}
	}
	inv := float32(0)
	if labelled > 0 {
		inv = 1 / float32(labelled)
	}
	for i := range n {
		row := logits.Data[i*c : (i+1)*c]
		y := labels[i]
		mx, arg := row[0], 0
		for j, v := range row {
			if v > mx {
				mx, arg = v, j
			}
		}
		// One exp per logit: kept in g (when there is one) to be scaled
		// into the softmax once their sum is known.
		var g []float32
		if dlogits != nil {
			g = dlogits.Data[i*c : (i+1)*c]
		}
		var sum float64
		for j, v := range row {
			e := math.Exp(float64(v - mx))
			sum += e
			if g != nil {
				g[j] = float32(e)
			}
		}
		if y >= 0 {
			loss += math.Log(sum) - float64(row[y]-mx)
			if arg == y {
				correct++
			}
		}
		if g == nil {
			continue
		}
		if y < 0 {
			clear(g)
			continue
		}
		scale := float64(inv) / sum
		for j, e := range g {
			g[j] = float32(float64(e) * scale)
		}
		g[y] -= inv
	}
	if labelled > 0 {
		loss /= float64(labelled)
	}
	return loss, correct, labelled
}

// Softmax writes softmax(logits/temperature) row by row into dst (allocated if nil).
func Softmax(dst, logits *Tensor, temperature float64) *Tensor {
	if dst == nil {
		dst = NewTensor(logits.Shape...)
	}
	c := logits.Cols()
	t := float32(temperature)
	for i := range logits.Rows() {
		row, out := logits.Data[i*c:(i+1)*c], dst.Data[i*c:(i+1)*c]
		mx := row[0]
		for _, v := range row {
			mx = max(mx, v)
		}
		var sum float64
		for j, v := range row {
			e := math.Exp(float64((v - mx) / t))
			out[j] = float32(e)
			sum += e
		}
		for j := range out {
			out[j] = float32(float64(out[j]) / sum)
		}
	}
	return dst
}
