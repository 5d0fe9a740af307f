package tui

import (
	"context"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/optlab/optlab/core"
	"github.com/optlab/optlab/lab"
)

// labEventMsg is one event from the lab's stream.
type labEventMsg lab.Event

// labClosedMsg says the lab's stream has been closed (the lab shut down).
type labClosedMsg struct{}

// waitForEvent reads exactly one event. The root returns it again after
// handling each labEventMsg, or the stream silently stops.
func waitForEvent(ch <-chan lab.Event) tea.Cmd {
	return func() tea.Msg {
		e, ok := <-ch
		if !ok {
			return labClosedMsg{}
		}
		return labEventMsg(e)
	}
}

// runStartedMsg says that a screen's start command has handed a job to the
// lab, which gave it id. Owner is the title of the screen that started it.
// Every screen sees it: data records the dataset and split the run uses
// (lab.Result does not), so that later jobs on its model can name them.
type runStartedMsg struct {
	owner  string
	id     lab.RunID
	task   string
	spec   lab.TrainSpec // for training runs
	config any           // the spec the run was started with
	data   lab.DataSpec
}

// startTraining returns a Cmd that starts a training run; it captures
// values only.
func startTraining(ctx context.Context, l Lab, owner string, spec lab.TrainSpec) tea.Cmd {
	return func() tea.Msg {
		return runStartedMsg{owner: owner, id: l.Start(ctx, lab.TaskTrain, spec, spec.Job()), task: lab.TaskTrain,
			spec: spec, config: spec, data: spec.Data}
	}
}

// startJob returns a Cmd that starts a technique's job (pruning,
// sensitivity, distillation); config is its spec, a plain value, and data
// the dataset and split it runs on.
func startJob(ctx context.Context, l Lab, owner, task string, config any, data lab.DataSpec, job lab.Job) tea.Cmd {
	return func() tea.Msg {
		return runStartedMsg{owner: owner, id: l.Start(ctx, task, config, job), task: task, config: config, data: data}
	}
}

// runSelectedMsg says the Results screen's cursor is on run id, so the
// technique screens offer its model first.
type runSelectedMsg struct{ id lab.RunID }

// weightsMsg carries one model's weight matrices, read in a Cmd, for the
// Prune screen's heatmap and per-layer bars.
type weightsMsg struct {
	run  lab.RunID
	tag  int // the request's number (pruneScreen.matsTag)
	mats []weightMatrix
	err  error
}

// cancelRun returns a Cmd that cancels run id.
func cancelRun(l Lab, id lab.RunID) tea.Cmd {
	return func() tea.Msg {
		l.Cancel(id)
		return nil
	}
}

// cancelAll returns a Cmd that cancels every run.
func cancelAll(l Lab) tea.Cmd {
	return func() tea.Msg {
		l.CancelAll()
		return nil
	}
}

// datasetLoadedMsg carries a dataset loaded for preview (or why it failed).
type datasetLoadedMsg struct {
	name string
	ds   *core.Dataset
	bal  []int // samples per class
	err  error
}

// loadDataset returns a Cmd that loads dataset spec name.
func loadDataset(name string, seed uint64) tea.Cmd {
	return func() tea.Msg {
		ds, err := loadData(name, seed)
		msg := datasetLoadedMsg{name: name, ds: ds, err: err}
		if err == nil {
			msg.bal = make([]int, ds.NumClasses())
			for _, y := range ds.Y {
				if y >= 0 {
					msg.bal[y]++
				}
			}
		}
		return msg
	}
}

// datasetChosenMsg says the user picked the dataset the Baseline screen
// trains on; ds is its preview when already loaded (else a
// datasetLoadedMsg follows).
type datasetChosenMsg struct {
	name string
	ds   *core.Dataset
}

// gotoMsg asks the root to show the screen with this title.
type gotoMsg struct{ title string }

// regionsMsg carries a grid of predicted classes over a 2-D plot area for
// run, computed in a Cmd.
type regionsMsg struct {
	run  lab.RunID
	grid regionGrid
}

// baselineSetMsg reports the outcome of marking run as the baseline.
type baselineSetMsg struct {
	run lab.RunID
	ok  bool
}

// exportedMsg reports the outcome of saving run's model to path.
type exportedMsg struct {
	run   lab.RunID
	path  string
	bytes int64
	err   error
}
