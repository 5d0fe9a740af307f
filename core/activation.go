package core

import "math"

// Activation is an element-wise nonlinearity layer.
type Activation struct {
	Kind  string  // "relu", "leaky_relu", "tanh", "sigmoid" or "gelu"
	Alpha float32 // negative slope of leaky_relu

	x, y, dx *Tensor
}

// Activations lists the activation names accepted by model specs.
var Activations = []string{"relu", "leaky_relu", "tanh", "sigmoid", "gelu"}

func activationByName(kind string, alpha float64) (*Activation, bool) {
	switch kind {
	case "relu", "tanh", "sigmoid", "gelu":
		return &Activation{Kind: kind}, true
	case "leaky_relu", "leakyrelu":
		if alpha == 0 {
			alpha = 0.01
		}
		return &Activation{Kind: "leaky_relu", Alpha: float32(alpha)}, true
	}
	return nil, false
}

// Forward applies the nonlinearity.
func (a *Activation) Forward(x *Tensor, train bool) *Tensor {
	a.x = x
	a.y = ensureLike(a.y, x)
	a.apply(a.y.Data, x.Data)
	return a.y
}

// apply sets y = f(x) element-wise.
func (a *Activation) apply(y, x []float32) {
	x = x[:len(y)]
	switch a.Kind {
	case "relu":
		relu(y, x)
	case "leaky_relu":
		for i, v := range x {
			if v < 0 {
				v *= a.Alpha
			}
			y[i] = v
		}
	case "tanh":
		for i, v := range x {
			y[i] = float32(math.Tanh(float64(v)))
		}
	case "sigmoid":
		for i, v := range x {
			y[i] = sigmoid(v)
		}
	case "gelu":
		for i, v := range x {
			y[i] = v * gelu(v)
		}
	}
}

// Backward multiplies dy by the derivative at the cached input.
func (a *Activation) Backward(dy *Tensor) *Tensor {
	a.dx = ensureLike(a.dx, dy)
	a.grad(a.dx.Data, dy.Data, a.x.Data, a.y.Data)
	return a.dx
}

// grad sets dx = dy·f′ element-wise, from the input x and output y of f.
func (a *Activation) grad(dx, dy, x, y []float32) {
	dy, x, y = dy[:len(dx)], x[:len(dx)], y[:len(dx)]
	switch a.Kind {
	case "relu":
		reluGrad(dx, dy, x, nil)
	case "leaky_relu":
		for i, g := range dy {
			if x[i] < 0 {
				g *= a.Alpha
			}
			dx[i] = g
		}
	case "tanh":
		for i, g := range dy {
			dx[i] = g * (1 - y[i]*y[i])
		}
	case "sigmoid":
		for i, g := range dy {
			dx[i] = g * y[i] * (1 - y[i])
		}
	case "gelu":
		for i, g := range dy {
			dx[i] = g * geluGrad(x[i])
		}
	}
}

// Params returns nil: activations have no parameters.
func (a *Activation) Params() []*Param { return nil }

// Spec describes the layer.
func (a *Activation) Spec() LayerSpec {
	s := LayerSpec{Kind: a.Kind}
	if a.Kind == "leaky_relu" {
		s.Alpha = float64(a.Alpha)
	}
	return s
}

// OutShape equals the input shape.
func (a *Activation) OutShape(in []int) []int { return in }

// MACs is zero: element-wise work is not counted as multiply-accumulates.
func (a *Activation) MACs([]int) int64 { return 0 }

func sigmoid(v float32) float32 { return float32(1 / (1 + math.Exp(-float64(v)))) }

// gelu returns Φ(v), the standard normal CDF; GELU(v) = v·Φ(v) (the exact
// form, not the tanh approximation).
func gelu(v float32) float32 { return float32(0.5 * (1 + math.Erf(float64(v)/math.Sqrt2))) }

// geluGrad is d/dv [v·Φ(v)] = Φ(v) + v·φ(v).
func geluGrad(v float32) float32 {
	x := float64(v)
	pdf := math.Exp(-x*x/2) / math.Sqrt(2*math.Pi)
	return float32(0.5*(1+math.Erf(x/math.Sqrt2)) + x*pdf)
}
