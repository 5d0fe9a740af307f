package core

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// Trial is a configuration a Strategy wants trained: a new one, or a paused
// one to continue (a promotion).
type Trial struct {
	ID        int // 1, 2, 3, ... in the order the strategy created the trials
	Point     Point
	From      int // epochs trained already: 0 for a new trial, the rung reached for a promotion
	MaxEpochs int // the most epochs the trial may reach in all; a decision usually ends it sooner
}

// Decision tells the trainer of a trial what to do after an epoch.
type Decision int

// The decisions of Strategy.Report.
const (
	Continue Decision = iota // keep training
	Promote                  // the trial reached a rung and goes on to the next one: keep training
	Pause                    // the trial reached a rung: stop training now; Next may continue it later
	Stop                     // the trial is over: it used its budget or was stopped early
)

var decisionNames = []string{"continue", "promote", "pause", "stop"}

// String returns the decision's lower-case name, e.g. "pause".
func (d Decision) String() string {
	if d >= 0 && int(d) < len(decisionNames) {
		return decisionNames[d]
	}
	return fmt.Sprintf("Decision(%d)", int(d))
}

// MarshalText writes the decision's name.
func (d Decision) MarshalText() ([]byte, error) {
	if d < 0 || int(d) >= len(decisionNames) {
		return nil, fmt.Errorf("core: invalid decision %d", int(d))
	}
	return []byte(d.String()), nil
}

// UnmarshalText reads a name written by MarshalText.
func (d *Decision) UnmarshalText(b []byte) error {
	i := slices.Index(decisionNames, string(b))
	if i < 0 {
		return fmt.Errorf("unknown decision %q", b)
	}
	*d = Decision(i)
	return nil
}

// Strategy is a hyperparameter search in ask-and-tell form. The caller asks
// Next for trials to train, reports every finished epoch of every trial with
// Report and obeys the decision, and calls End when a trial ends without a
// decision to stop (it failed, was cancelled, or ran out of budget).
//
// Next returns false when no trial can start until more reports arrive; when
// no trial is training either, the search is over. Report takes the epoch
// counted from the trial's start (a promoted trial continues the count),
// each epoch once and in order, and one value per objective
// (SearchConfig.Objectives), each to be maximized (negate a cost) and NaN
// counting as the worst. The first value is the primary objective, e.g.
// validation accuracy. With several objectives, ASHA, Hyperband and TPE
// rank trials by non-dominated sorting with NSGA-II's crowding distance
// (see their docs); grid and random search and the median stopping rule
// look at the primary value only. Report panics when the number of values
// differs from the number of objectives. Report on an ended or unknown
// trial returns Stop; End on one does nothing.
//
// A Strategy is not safe for concurrent use. Given the same space,
// configuration and sequence of calls it makes the same suggestions and
// decisions, so a study can be rebuilt by replaying its calls.
type Strategy interface {
	Next() (Trial, bool)
	Report(id, epoch int, values ...float64) Decision
	End(id int)
}

// Strategies lists the names accepted by SearchConfig.Strategy.
var Strategies = []string{"grid", "random", "asha", "hyperband", "tpe"}

// SearchConfig configures NewStrategy. Zero fields take the defaults listed.
type SearchConfig struct {
	Strategy string `json:"strategy"` // grid, random (default), asha, hyperband or tpe
	// Trials is how many configurations to create. Default: the whole grid
	// for grid (a smaller number takes the grid's first points), one full
	// Hyperband iteration (every bracket once) for hyperband, 20 otherwise.
	Trials int `json:"trials,omitempty"`
	// MaxEpochs is the most epochs a trial trains (R); default 27. For grid,
	// random and tpe, a space dimension named "epochs" sets it per trial.
	MaxEpochs int `json:"max_epochs,omitempty"`
	MinEpochs int `json:"min_epochs,omitempty"` // asha, hyperband: the smallest budget (r); default 1
	Eta       int `json:"eta,omitempty"`        // asha, hyperband: the reduction factor η ≥ 2; default 3

	// Median adds the median stopping rule to any strategy: after epoch e ≥
	// MedianGrace, a trial whose best value so far is below the median of
	// the other trials' running means up to e stops, provided at least
	// MedianMin other trials have reached epoch e.
	Median      bool `json:"median,omitempty"`
	MedianGrace int  `json:"median_grace,omitempty"` // default 1
	MedianMin   int  `json:"median_min,omitempty"`   // default 3

	Startup    int     `json:"startup,omitempty"`    // tpe: trials to finish, sampled at random, before the model is used; default 10 (Optuna's)
	Gamma      float64 `json:"gamma,omitempty"`      // tpe: the fraction of finished trials counted as good, at most 25 of them; default 0.15 (BOHB's)
	Candidates int     `json:"candidates,omitempty"` // tpe: samples drawn from l(x) per suggestion; default 24

	// Objectives is how many values each Report carries (default 1): the
	// primary objective first, then any others, all to be maximized.
	Objectives int `json:"objectives,omitempty"`

	Seed uint64 `json:"seed"` // every value, including 0, is valid
}

// Resolve validates c against space and returns it with every default
// filled in, Trials included.
func (c SearchConfig) Resolve(space Space) (SearchConfig, error) {
	if err := space.Validate(); err != nil {
		return c, err
	}
	if c.Strategy == "" {
		c.Strategy = "random"
	}
	if !slices.Contains(Strategies, c.Strategy) {
		return c, fmt.Errorf("unknown strategy %q (want grid, random, asha, hyperband or tpe)", c.Strategy)
	}
	if c.MaxEpochs == 0 {
		c.MaxEpochs = 27
	}
	if c.MinEpochs == 0 {
		c.MinEpochs = 1
	}
	if c.Eta == 0 {
		c.Eta = 3
	}
	if c.MedianGrace == 0 {
		c.MedianGrace = 1
	}
	if c.MedianMin == 0 {
		c.MedianMin = 3
	}
	if c.Startup == 0 {
		c.Startup = 10
	}
	if c.Gamma == 0 {
		c.Gamma = 0.15
	}
	if c.Candidates == 0 {
		c.Candidates = 24
	}
	if c.Objectives == 0 {
		c.Objectives = 1
	}
	switch {
	case c.Trials < 0 || c.MaxEpochs < 0 || c.MinEpochs < 0 || c.MedianGrace < 0 || c.MedianMin < 0 || c.Startup < 0 || c.Candidates < 0 || c.Objectives < 0:
		return c, fmt.Errorf("trials, epochs and the other counts must not be negative")
	case c.Eta < 2:
		return c, fmt.Errorf("eta must be at least 2, got %d", c.Eta)
	case c.MinEpochs > c.MaxEpochs:
		return c, fmt.Errorf("the smallest budget (%d epochs) exceeds the largest (%d)", c.MinEpochs, c.MaxEpochs)
	case !(c.Gamma > 0 && c.Gamma < 1):
		return c, fmt.Errorf("gamma must be in (0, 1), got %g", c.Gamma)
	}
	multiFidelity := c.Strategy == "asha" || c.Strategy == "hyperband"
	if i := space.Index(EpochsDim); i >= 0 {
		if multiFidelity {
			return c, fmt.Errorf("%s allots epochs itself: drop the %q parameter and set the largest budget instead", c.Strategy, EpochsDim)
		}
		d := space[i]
		ok := d.Kind == Integer && d.Low >= 1
		if d.Kind == Categorical {
			ok = true
			for j := range d.Values {
				if n, isInt := (Space{d}).Value(Point{float64(j)}, 0).(int); !isInt || n < 1 {
					ok = false
				}
			}
		}
		if !ok {
			return c, fmt.Errorf("parameter %q must be whole numbers of at least 1", EpochsDim)
		}
	}
	if n := space.GridSize(); c.Strategy == "grid" && (c.Trials == 0 || c.Trials > n) {
		c.Trials = n
	}
	if c.Trials == 0 {
		switch c.Strategy {
		case "hyperband":
			for _, b := range HyperbandBrackets(c.MinEpochs, c.MaxEpochs, c.Eta) {
				c.Trials += b.N[0]
			}
		default:
			c.Trials = 20
		}
	}
	return c, nil
}

// NewStrategy returns the search c describes over space.
func NewStrategy(space Space, c SearchConfig) (Strategy, error) {
	c, err := c.Resolve(space)
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(c.Seed, 0x5ea7c4))
	random := func() Point { return space.Sample(r) }
	var s Strategy
	switch c.Strategy {
	case "grid":
		grid := space.Grid()
		s = newFIFO(space, c, func([]observation, []Point) Point { p := grid[0]; grid = grid[1:]; return p })
	case "random":
		s = newFIFO(space, c, func([]observation, []Point) Point { return random() })
	case "tpe":
		t := &tpe{space: space, r: r, startup: c.Startup, gamma: c.Gamma, candidates: c.Candidates}
		s = newFIFO(space, c, t.sample)
	case "asha":
		s = newASHA(c, random)
	case "hyperband":
		s = newHyperband(c, random)
	}
	if c.Median {
		s = newMedianStop(s, c.Objectives, c.MedianGrace, c.MedianMin)
	}
	return s, nil
}

// Budget bounds a whole search. Zero fields mean no bound.
type Budget struct {
	Epochs int           `json:"epochs,omitempty"` // training epochs summed over all trials
	Time   time.Duration `json:"time,omitempty"`   // wall time
}

// Exhausted reports whether a search that has trained for epochs epochs in
// all, over elapsed wall time, has used b up.
func (b Budget) Exhausted(epochs int, elapsed time.Duration) bool {
	return b.Epochs > 0 && epochs >= b.Epochs || b.Time > 0 && elapsed >= b.Time
}

// observation is a finished trial as samplers see it.
type observation struct {
	point  Point
	values []float64 // its last report's, NaN mapped to -Inf
}

// worst maps NaN to -Inf, so that a broken value ranks last.
func worst(v float64) float64 {
	if math.IsNaN(v) {
		return math.Inf(-1)
	}
	return v
}

// reported checks that a report carries one value per objective and
// returns a copy of the values with NaN mapped to -Inf.
func reported(values []float64, objectives int) []float64 {
	if len(values) != objectives {
		panic(fmt.Sprintf("core: a report with %d values in a search of %d objectives", len(values), objectives))
	}
	out := make([]float64, len(values))
	for i, v := range values {
		out[i] = worst(v)
	}
	return out
}

// unreported is the values of a trial that has not reported yet: the worst.
func unreported(objectives int) []float64 {
	v := make([]float64, objectives)
	for i := range v {
		v[i] = math.Inf(-1)
	}
	return v
}

// fifo runs every trial to its full budget (unless the median rule, added
// around it, stops one): grid, random and TPE search, which differ only in
// how they choose points.
type fifo struct {
	space      Space
	trials     int
	maxEpochs  int
	objectives int
	epochsDim  int // index of EpochsDim in the space, or -1
	// sample chooses the next point from the finished trials and the points
	// of the trials still running.
	sample func(done []observation, running []Point) Point

	created int
	byID    map[int]*fifoTrial
	done    []observation // finished trials, in the order they finished
}

type fifoTrial struct {
	point  Point
	budget int
	values []float64
	ended  bool
}

func newFIFO(space Space, c SearchConfig, sample func([]observation, []Point) Point) *fifo {
	return &fifo{space: space, trials: c.Trials, maxEpochs: c.MaxEpochs, objectives: c.Objectives,
		epochsDim: space.Index(EpochsDim), sample: sample, byID: map[int]*fifoTrial{}}
}

func (f *fifo) Next() (Trial, bool) {
	if f.created >= f.trials {
		return Trial{}, false
	}
	var running []Point
	for id := 1; id <= f.created; id++ { // by ID, not in map order, for determinism
		if t := f.byID[id]; !t.ended {
			running = append(running, t.point)
		}
	}
	p := f.sample(f.done, running)
	f.created++
	budget := f.maxEpochs
	if f.epochsDim >= 0 {
		budget = f.space.Value(p, f.epochsDim).(int)
	}
	f.byID[f.created] = &fifoTrial{point: p, budget: budget, values: unreported(f.objectives)}
	return Trial{ID: f.created, Point: p, MaxEpochs: budget}, true
}

func (f *fifo) Report(id, epoch int, values ...float64) Decision {
	v := reported(values, f.objectives)
	t := f.byID[id]
	if t == nil || t.ended {
		return Stop
	}
	t.values = v
	if epoch >= t.budget {
		f.End(id)
		return Stop
	}
	return Continue
}

func (f *fifo) End(id int) {
	if t := f.byID[id]; t != nil && !t.ended {
		t.ended = true
		f.done = append(f.done, observation{t.point, t.values})
	}
}
