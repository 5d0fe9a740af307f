package lab

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/optlab/optlab/core"
	"github.com/optlab/optlab/datasets"
)

// DataSpec names a dataset and how it is split. It is plain data, so it can
// be copied and compared, and it is the key of a Lab's data cache.
type DataSpec struct {
	Name     string  `json:"name,omitempty"`      // a built-in dataset name, a .csv file or an IDX images file
	Label    string  `json:"label,omitempty"`     // CSV label column, by header name or 0-based index; "" for the last
	TestFrac float64 `json:"test_frac,omitempty"` // stratified held-out test fraction; 0 means 0.2
	ValFrac  float64 `json:"val_frac,omitempty"`  // validation fraction of what remains; 0 means 0.1
	Seed     uint64  `json:"seed,omitempty"`      // seed of the splits, and of the generator of a built-in set
	Samples  int     `json:"samples,omitempty"`   // samples to generate, or to keep (stratified) from a file; 0 for all or the default
	Noise    float64 `json:"noise,omitempty"`     // a built-in generator's noise; 0 for its default
}

// ModelInfo is the part of a model file's record that names the data and
// split of s, for a model made by task; the caller fills in the rest. With
// it, eval and the techniques find the very split the model was tested on.
func (s DataSpec) ModelInfo(task string) core.ModelInfo {
	return core.ModelInfo{Task: task, Dataset: s.Name, DataSeed: s.Seed, TestFrac: s.TestFrac,
		Label: s.Label, Samples: s.Samples, Noise: s.Noise}
}

// Default split fractions.
const (
	DefaultTestFrac = 0.2
	DefaultValFrac  = 0.1
)

// withDefaults fills in the default fractions.
func (s DataSpec) withDefaults() DataSpec {
	if s.TestFrac == 0 {
		s.TestFrac = DefaultTestFrac
	}
	if s.ValFrac == 0 {
		s.ValFrac = DefaultValFrac
	}
	return s
}

// Splits are a dataset split three ways, stratified by class. They are
// shared between runs: never modify them.
type Splits struct {
	Train, Val, Test *core.Dataset
	Spec             DataSpec // what was loaded and how it was split, defaults filled in
}

// dataCache remembers the splits of each DataSpec, so that several runs on
// the same data load it once. Past its budget of bytes it forgets the least
// recently used loads; runs holding their splits keep them.
type dataCache struct {
	mu     sync.Mutex
	m      map[DataSpec]*dataEntry
	budget int64
	clock  uint64 // counts uses, for recency
}

// dataEntry is one cached load; ready is closed once splits or err is set.
type dataEntry struct {
	ready  chan struct{}
	splits Splits
	err    error
	bytes  int64  // of the splits' samples and labels, once loaded
	used   uint64 // the cache's clock at the last use
}

func newDataCache(budget int64) dataCache {
	return dataCache{m: make(map[DataSpec]*dataEntry), budget: budget}
}

// labKey is the context key under which Start makes the Lab reachable from
// its jobs, so that jobs built from specs share the Lab's data cache.
type labKey struct{}

// loadSplits returns the splits for spec: through the data cache of the Lab
// running the job when there is one, else loaded afresh.
func loadSplits(ctx context.Context, spec DataSpec) (Splits, error) {
	if l, ok := ctx.Value(labKey{}).(*Lab); ok {
		return l.Data(ctx, spec)
	}
	return readSplits(spec.withDefaults())
}

// Data loads and splits the dataset that spec names, or returns the splits
// loaded earlier for an equal spec (after defaults are filled in). Concurrent
// calls for the same spec load it once. Failed loads are not remembered, so a
// fixed file can be tried again. Data returns early with ctx's error when ctx
// is done while another call is loading.
func (l *Lab) Data(ctx context.Context, spec DataSpec) (Splits, error) {
	spec = spec.withDefaults()
	c := &l.data
	c.mu.Lock()
	e, ok := c.m[spec]
	if !ok {
		e = &dataEntry{ready: make(chan struct{})}
		c.m[spec] = e
	}
	c.clock++
	e.used = c.clock
	c.mu.Unlock()
	if !ok {
		c.fill(spec, e)
	}
	select {
	case <-e.ready:
		return e.splits, e.err
	case <-ctx.Done():
		return Splits{}, ctx.Err()
	}
}

// errLoadPanicked stands in for the error of a load that panicked, for the
// callers waiting on it; the panic itself goes on up the loading job.
var errLoadPanicked = errors.New("internal error: loading the data failed")

// fill loads spec into e, then wakes the waiters. A failed load leaves the
// cache.
func (c *dataCache) fill(spec DataSpec, e *dataEntry) {
	e.err = errLoadPanicked // replaced below unless the loader panics
	defer func() {
		c.mu.Lock()
		if e.err != nil {
			delete(c.m, spec)
		} else {
			e.bytes = splitsBytes(e.splits)
			c.evict(e)
		}
		c.mu.Unlock()
		close(e.ready)
	}()
	e.splits, e.err = readSplits(spec)
}

// evict forgets the least recently used loads other than keep while the
// loaded ones hold more than the budget. Loads in progress count nothing
// yet and stay.
func (c *dataCache) evict(keep *dataEntry) {
	for {
		var total int64
		var oldest DataSpec
		var victim *dataEntry
		for spec, e := range c.m {
			total += e.bytes
			if e != keep && e.bytes > 0 && (victim == nil || e.used < victim.used) {
				oldest, victim = spec, e
			}
		}
		if total <= c.budget || victim == nil {
			return
		}
		delete(c.m, oldest)
	}
}

// splitsBytes is the memory the samples and labels of s take.
func splitsBytes(s Splits) int64 {
	var n int64
	for _, d := range []*core.Dataset{s.Train, s.Val, s.Test} {
		if d != nil {
			n += 4*int64(len(d.X)) + 8*int64(len(d.Y))
		}
	}
	return n
}

// readSplits loads spec and splits it; spec has its defaults filled in.
func readSplits(spec DataSpec) (Splits, error) {
	if spec.TestFrac <= 0 || spec.TestFrac >= 1 {
		return Splits{}, fmt.Errorf("test fraction %g is outside (0, 1)", spec.TestFrac)
	}
	if spec.ValFrac <= 0 || spec.ValFrac >= 1 {
		return Splits{}, fmt.Errorf("validation fraction %g is outside (0, 1)", spec.ValFrac)
	}
	d, err := datasets.Load(spec.Name, datasets.LoadOptions{Label: spec.Label, Seed: spec.Seed,
		Samples: spec.Samples, Noise: spec.Noise})
	if err != nil {
		return Splits{}, err
	}
	train, val, test := datasets.TrainValTest(d, spec.TestFrac, spec.ValFrac, spec.Seed)
	if train.Len() == 0 || test.Len() == 0 {
		return Splits{}, fmt.Errorf("dataset %q has too few samples (%d) to split", d.Name, d.Len())
	}
	return Splits{Train: train, Val: val, Test: test, Spec: spec}, nil
}
