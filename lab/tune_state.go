package lab

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/optlab/optlab/core"
)

// stateVersion is the version of the state file format.
const stateVersion = 1

// studyState is the state file: the spec, every call made to the strategy
// in order, and the trials' records.
type studyState struct {
	Format      string       `json:"format"` // "optlab-study"
	Version     int          `json:"version"`
	Spec        TuneSpec     `json:"spec"`
	Log         []logEntry   `json:"log"`
	Trials      []stateTrial `json:"trials"`
	TotalEpochs int          `json:"total_epochs"`
	Elapsed     float64      `json:"elapsed_s"`
	Stopped     string       `json:"stopped,omitempty"`
	BestCurve   []BestPoint  `json:"best_curve,omitempty"`
	Done        bool         `json:"done"`
}

// stateTrial is a trial record plus what the study needs to go on with it.
type stateTrial struct {
	TrialRecord
	Point      core.Point `json:"point"`
	MaxEpochs  int        `json:"max_epochs"`
	Checkpoint int        `json:"checkpoint,omitempty"` // the epoch its checkpoint in FILE.ckpt holds; 0 for none
}

// logEntry is one call made to the strategy: "next" (and the trial it
// returned), "report" (and the decision) or "end". A report of a study with
// a second objective carries the trial's cost as well, which the strategy
// saw negated: a latency cannot be measured again to the same figure.
type logEntry struct {
	Op       string        `json:"op"`
	ID       int           `json:"id"`
	From     int           `json:"from,omitempty"`
	Max      int           `json:"max,omitempty"`
	Point    core.Point    `json:"point,omitempty"` // a new trial's
	Epoch    int           `json:"epoch,omitempty"`
	Value    float64       `json:"value,omitempty"`
	Cost     float64       `json:"cost,omitempty"` // latency_us or size_bytes
	Decision core.Decision `json:"decision,omitempty"`
}

// save writes the state file, if the study has one. It records the first
// failure, which Run returns.
func (s *TuneStudy) save() {
	if s.path == "" || s.saveErr != nil {
		return
	}
	st := studyState{Format: "optlab-study", Version: stateVersion, Spec: s.spec, Log: s.log,
		TotalEpochs: s.total, Elapsed: s.elapsed().Seconds(), Stopped: s.stopped, BestCurve: s.bestCurve, Done: s.done}
	for _, id := range s.ids() {
		t := s.trials[id]
		st.Trials = append(st.Trials, stateTrial{TrialRecord: t.rec, Point: t.point, MaxEpochs: t.max, Checkpoint: t.saved})
	}
	b, err := json.Marshal(st)
	if err == nil {
		err = core.WriteFileAtomic(s.path, b)
	}
	if err != nil {
		s.fail(fmt.Errorf("saving the study: %w", err))
	}
}

// ResumeTuneStudy reads the state file a study wrote and returns the study,
// ready to Run on from where it stopped, saving to the same file. Finished
// trials are kept as they are; trial runs that were in progress train
// again, from the trial's last checkpoint (or from scratch, noted in a
// "resumed" update, if it is missing or unusable), and the strategy,
// rebuilt by replaying its calls, goes on as if uninterrupted. A study that
// had finished returns its result from Run at once.
func ResumeTuneStudy(path string) (*TuneStudy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var st studyState
	if err := json.Unmarshal(b, &st); err != nil || st.Format != "optlab-study" {
		return nil, fmt.Errorf("%s is not an optlab study state file", path)
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("%s: study state version %d; this optlab reads version %d", path, st.Version, stateVersion)
	}
	spec, err := st.Spec.resolve()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s, err := newStudy(spec, path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s.total, s.before, s.stopped, s.done = st.TotalEpochs, time.Duration(st.Elapsed*float64(time.Second)), st.Stopped, st.Done
	s.bestCurve = st.BestCurve
	for _, tr := range st.Trials {
		if !spec.Space.Contains(tr.Point) {
			return nil, fmt.Errorf("%s: trial %d's point does not fit the space", path, tr.ID)
		}
		t := &trial{rec: tr.TrialRecord, point: tr.Point, max: tr.MaxEpochs, saved: tr.Checkpoint}
		t.rec.Params = spec.Space.Values(t.point) // typed values, not JSON's float64s
		s.trials[tr.ID] = t
	}
	if err := s.replay(st.Log); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, id := range s.ids() {
		t := s.trials[id]
		if t.rec.Status != TrialRunning {
			continue
		}
		seg := t.seg
		seg.kind = "resumed"
		if t.decision == core.Pause || t.decision == core.Stop {
			seg.stopAt, seg.stopWith = t.reported, t.decision
		}
		s.pending = append(s.pending, seg)
	}
	removeTemps(s.checkpointDir())
	s.pickBest()
	return s, nil
}

// errNoCost says a multi-objective study's log was written before the
// strategies searched on the second objective: its reports lack the cost.
var errNoCost = errors.New("the study's reports carry no cost for its second objective: an older optlab wrote it, " +
	"searching on accuracy alone, and it cannot go on as a multi-objective search; start a new study")

// errMismatch says a replay went differently from the original study.
var errMismatch = errors.New("the study's log does not replay the same way (was it written by a different optlab?)")

// replay makes the calls of log on the study's fresh strategy, checking
// that they are answered as they were, and restores each trial's view of
// them.
func (s *TuneStudy) replay(log []logEntry) error {
	for i, e := range log {
		t := s.trials[e.ID]
		if t == nil {
			return fmt.Errorf("the log names trial %d, which the file does not hold", e.ID)
		}
		switch e.Op {
		case "next":
			tr, ok := s.strategy.Next()
			if !ok || tr.ID != e.ID || tr.From != e.From || tr.MaxEpochs != e.Max || e.From == 0 && !slices.Equal(tr.Point, e.Point) {
				return fmt.Errorf("step %d: %w", i+1, errMismatch)
			}
			t.seg = segment{trial: e.ID, kind: "promoted", from: e.From, max: e.Max}
			t.decision = core.Continue
		case "report":
			values := []float64{e.Value}
			if s.costObjective() != "" {
				if e.Cost <= 0 {
					return errNoCost
				}
				s.setCost(t, e.Cost) // what the strategy saw
				values = append(values, -e.Cost)
			}
			if d := s.strategy.Report(e.ID, e.Epoch, values...); d != e.Decision {
				return fmt.Errorf("step %d: %w", i+1, errMismatch)
			}
			t.reported, t.decision = e.Epoch, e.Decision
		case "end":
			s.strategy.End(e.ID)
			t.decision = core.Stop
		default:
			return fmt.Errorf("step %d: unknown operation %q", i+1, e.Op)
		}
	}
	s.log = log
	return nil
}
