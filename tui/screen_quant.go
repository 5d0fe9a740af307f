package tui

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/progress"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/optlab/optlab/core"
	"github.com/optlab/optlab/lab"
)

// The Quantize screen's fields, in order.
const (
	fqModel = iota
	fqMode
	fqBits
	fqGran
	fqClip
	fqCalib
	fqEpochs
	fqSeed
	numQuantFields
)

// quantBits are the weight bit widths the form offers.
var quantBits = []string{"8", "7", "6", "5", "4", "3", "2"}

// quantScreen is the form for quantizing a finished run's model and the
// live view of the run: per-layer SQNR, a histogram of a layer's weights
// with its quantization grid and clipping range over it, accuracy while QAT
// fine-tunes, and, for a bit-width sweep, a table and a chart of accuracy
// and size per width. Its results join the Results screen, compared with
// the model they started from.
type quantScreen struct {
	c      *common
	keys   quantKeys
	form   techForm
	bases  *basePicker
	notice string

	run    lab.RunID // the run on view; 0 before the first
	state  runState
	spec   lab.QuantizeSpec
	stats  core.Stats
	err    error
	result *lab.Result
	view   int // the sweep record on view (index into result.Sweep)
	layer  int // the layer whose histogram is drawn
	acc    *lineChart
	bar    progress.Model

	w, h int
	// Drawn when the data or the size change.
	histView, sweepView string
}

type quantKeys struct {
	formKeys
	Start, Sweep, Cancel, Layer, PrevLayer, Bits, PrevBits key.Binding
}

func newQuantScreen(c *common) screen {
	st := c.styles
	s := &quantScreen{c: c, bases: newBasePicker(c), acc: newLineChart(st, "Accuracy (QAT)", true), bar: newBar(st)}
	s.keys = quantKeys{Start: relabel(keyStart, "s", "quantize"),
		Sweep:     key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "sweep 8…2 bits")),
		Cancel:    keyStop,
		Layer:     key.NewBinding(key.WithKeys("]"), key.WithHelp("[/]", "layer")),
		PrevLayer: key.NewBinding(key.WithKeys("["), key.WithHelp("[/]", "layer")),
		Bits:      key.NewBinding(key.WithKeys(">", "."), key.WithHelp("</>", "sweep bits")),
		PrevBits:  key.NewBinding(key.WithKeys("<", ","), key.WithHelp("</>", "sweep bits"))}
	f := make([]*field, numQuantFields)
	f[fqModel] = newField(st, "model", "", s.bases.validate("to quantize"))
	f[fqMode] = newField(st, "mode", "ptq", validChoice("mode", core.QuantModes), core.QuantModes...)
	f[fqBits] = newField(st, "weight bits", "8", validInt("weight bits", 2, 8), quantBits...)
	f[fqGran] = newField(st, "granularity", "per-channel", validChoice("granularity", core.QuantGranularities), core.QuantGranularities...)
	f[fqClip] = newField(st, "clipping", "minmax", validChoice("clipping method", core.QuantClips), core.QuantClips...)
	f[fqCalib] = newField(st, "calib samples", strconv.Itoa(core.DefaultCalib), validInt("calibration samples", 1, 1_000_000))
	f[fqEpochs] = newField(st, "QAT epochs", strconv.Itoa(lab.DefaultQATEpochs), validInt("QAT epochs", 1, 10000))
	f[fqSeed] = newField(st, "seed", strconv.FormatUint(c.seed, 10), validSeed)
	s.form = techForm{fields: f, keys: newFormKeys()}
	s.updateKeys()
	return s
}

func (s *quantScreen) Title() string { return "Quantize" }

func (s *quantScreen) Init() tea.Cmd { return nil }

func (s *quantScreen) Editing() bool { return s.form.editing }

func (s *quantScreen) Back() bool {
	if s.form.back() {
		s.updateKeys()
		return true
	}
	return false
}

func (s *quantScreen) active() bool {
	return s.state.live()
}

// record is the result on view: the run's, or one width of its sweep.
func (s *quantScreen) record() *lab.Result {
	if s.result == nil {
		return nil
	}
	if n := len(s.result.Sweep); n > 0 {
		return s.result.Sweep[min(s.view, n-1)]
	}
	return s.result
}

// layers are the per-layer figures of the record on view.
func (s *quantScreen) layers() []core.LayerQuant {
	if r := s.record(); r != nil && r.Quant != nil {
		return r.Quant.Layers
	}
	return nil
}

func (s *quantScreen) updateKeys() {
	s.form.updateKeys(true)
	k := &s.keys
	k.formKeys = s.form.keys
	ed := s.form.editing
	k.Start.SetEnabled(!ed)
	k.Sweep.SetEnabled(!ed)
	k.Cancel.SetEnabled(!ed && s.active() && s.run != 0)
	many := len(s.layers()) > 1
	k.Layer.SetEnabled(!ed && many)
	k.PrevLayer.SetEnabled(!ed && many)
	sweep := s.result != nil && len(s.result.Sweep) > 1
	k.Bits.SetEnabled(!ed && sweep)
	k.PrevBits.SetEnabled(!ed && sweep)
}

func (s *quantScreen) ShortHelp() []key.Binding {
	k := s.keys
	return []key.Binding{k.Up, k.Edit, k.Left, k.Save, k.Abort, k.Start, k.Sweep, k.Layer, k.Bits, k.Cancel}
}

func (s *quantScreen) FullHelp() [][]key.Binding {
	k := s.keys
	return [][]key.Binding{{k.Up, k.Down, k.Edit, k.Left}, {k.Save, k.Abort, k.Start, k.Sweep}, {k.Cancel, k.Layer, k.Bits}}
}

// chosen is the run the model field names (0 when none).
func (s *quantScreen) chosen() lab.RunID { return parseRun(s.form.fields[fqModel].value()) }

func (s *quantScreen) Update(msg tea.Msg) tea.Cmd {
	defer s.updateKeys()
	if changed, want := s.bases.observe(msg); changed {
		s.bases.sync(s.form.fields[fqModel], want)
	}
	var cmd tea.Cmd
	switch msg := msg.(type) {
	case tea.KeyMsg:
		cmd = s.handleKey(msg)
	case runStartedMsg:
		if msg.owner == s.Title() {
			s.startedRun(msg)
		}
	case labEventMsg:
		if msg.Run != 0 && msg.Run == s.run {
			s.handleEvent(lab.Event(msg))
		}
	default:
		return nil
	}
	s.redraw()
	return cmd
}

func (s *quantScreen) handleKey(msg tea.KeyMsg) tea.Cmd {
	if ok, cmd := s.form.handleKey(msg, &s.notice); ok {
		return cmd
	}
	k := s.keys
	n := len(s.layers())
	switch {
	case key.Matches(msg, k.Start):
		return s.start(false)
	case key.Matches(msg, k.Sweep):
		return s.start(true)
	case key.Matches(msg, k.Layer) && n > 0:
		s.layer = (s.layer + 1) % n
	case key.Matches(msg, k.PrevLayer) && n > 0:
		s.layer = (s.layer + n - 1) % n
	case key.Matches(msg, k.Bits) && s.result != nil && len(s.result.Sweep) > 0:
		s.view = min(s.view+1, len(s.result.Sweep)-1)
		s.drawQAT()
	case key.Matches(msg, k.PrevBits) && s.result != nil && len(s.result.Sweep) > 0:
		s.view = max(s.view-1, 0)
		s.drawQAT()
	case key.Matches(msg, k.Cancel):
		if s.active() && s.run != 0 {
			s.notice = fmt.Sprintf("cancelling run %d…", s.run)
			return cancelRun(s.c.lab, s.run)
		}
	}
	return nil
}

// quantSpec reads the (valid) form into the job's spec; sweep runs every
// width of lab.SweepBits instead of the form's.
func (s *quantScreen) quantSpec(sweep bool) lab.QuantizeSpec {
	v := func(i int) string { return s.form.fields[i].value() }
	whole := func(i int) int { x, _ := strconv.Atoi(v(i)); return x }
	seed, _ := strconv.ParseUint(v(fqSeed), 10, 64)
	base := s.chosen()
	data, _ := s.bases.dataFor(base)
	spec := lab.QuantizeSpec{Data: data, BaseRun: base, Mode: v(fqMode), Bits: whole(fqBits),
		Granularity: v(fqGran), Clip: v(fqClip), Calib: whole(fqCalib), Seed: seed}
	if spec.Mode == "qat" {
		spec.Epochs = whole(fqEpochs)
	}
	if sweep {
		spec.Sweep = append([]int(nil), lab.SweepBits...)
	}
	return spec
}

// start validates the form and returns the Cmd that starts the run.
func (s *quantScreen) start(sweep bool) tea.Cmd {
	if s.active() {
		s.notice = "a run is already going: x cancels it"
		return nil
	}
	if p := s.form.firstError(); p != "" {
		s.notice = "cannot start: " + p
		return nil
	}
	spec := s.quantSpec(sweep)
	if err := spec.Validate(); err != nil {
		s.notice = "cannot start: " + err.Error()
		return nil
	}
	s.state, s.notice = runPending, ""
	return startJob(s.c.ctx, s.c.lab, s.Title(), lab.TaskQuantize, spec, spec.Data, spec.Job())
}

func (s *quantScreen) startedRun(msg runStartedMsg) {
	spec, _ := msg.config.(lab.QuantizeSpec)
	s.spec, s.run, s.stats, s.err, s.result = spec, msg.id, core.Stats{}, nil, nil
	s.view, s.layer = 0, 0
	s.state = runQueued
	if msg.id == 0 {
		s.state, s.notice = runFailed, "the lab is shutting down; no run was started"
	}
	epochs := spec.Epochs
	if epochs == 0 {
		epochs = lab.DefaultQATEpochs
	}
	s.acc.reset(epochs)
}

func (s *quantScreen) handleEvent(e lab.Event) {
	switch e.Kind {
	case lab.Started:
		s.state = runRunning
	case lab.Progress:
		s.state = runRunning
		st := e.Stats
		if st.Bits != s.stats.Bits && s.stats.Bits != 0 && st.Phase == "qat" {
			s.acc.reset(max(1, st.Epochs)) // a sweep's next width fine-tunes afresh
		}
		s.stats = st
		if st.Phase == "qat" && st.Epochs > 0 {
			x := float64(st.Epoch-1) + float64(st.Step)/float64(max(1, st.Steps))
			if st.EpochDone {
				x = float64(st.Epoch)
				s.acc.val.push(point{x, st.ValAcc})
			}
			s.acc.epochs = float64(st.Epochs)
			s.acc.train.push(point{x, st.TrainAcc})
			s.acc.draw()
		}
	case lab.Finished:
		s.state, s.result = runDone, e.Result
		s.view, s.layer = 0, worstLayer(e.Result)
		s.drawQAT()
	case lab.Failed:
		s.err, s.state = e.Err, runFailed
		if errors.Is(e.Err, context.Canceled) {
			s.state = runCancelled
		}
		s.notice = ""
	}
}

// drawQAT redraws the QAT chart from the history of the record on view.
func (s *quantScreen) drawQAT() {
	r := s.record()
	if r == nil || r.Mode != "qat" {
		return
	}
	s.acc.reset(max(1, r.Epochs))
	s.acc.title = fmt.Sprintf("Accuracy (QAT, %d-bit)", r.Bits)
	for _, h := range r.History {
		s.acc.train.push(point{float64(h.Epoch), h.TrainAcc})
		s.acc.val.push(point{float64(h.Epoch), h.ValAcc})
	}
	s.acc.draw()
}

// worstLayer is the index of the layer with the lowest output SQNR: where
// quantization costs most, drawn first.
func worstLayer(r *lab.Result) int {
	if r == nil || r.Quant == nil {
		return 0
	}
	w := 0
	for i, l := range r.Quant.Layers {
		if l.OutputSQNR < r.Quant.Layers[w].OutputSQNR {
			w = i
		}
	}
	return w
}

// Layout: the form on the left, the run on the right.

func (s *quantScreen) formWidth() int { return min(38, max(28, s.w/3)) }

func (s *quantScreen) rightWidth() int { return max(0, s.w-s.formWidth()-2) }

// sections are the heights of the right column's parts below the status
// lines, 0 for a part left out: QAT chart, sweep table, sweep chart, SQNR
// table (heading included) and histogram (heading included).
func (s *quantScreen) sections(avail int) (qat, sweepT, sweepC, sqnr, hist int) {
	take := func(want, least int) int {
		if avail < least {
			return 0
		}
		n := min(want, avail)
		avail -= n
		return n
	}
	if s.result != nil && len(s.result.Sweep) > 0 {
		sweepT = take(len(s.result.Sweep)+3, len(s.result.Sweep)+3)
	}
	if r := s.record(); (r != nil && r.Mode == "qat") || (s.active() && s.spec.Mode == "qat") {
		want := min(10, max(6, avail/3))
		if len(s.layers()) == 0 {
			want = min(16, avail)
		}
		qat = take(want, 6)
	}
	if sweepT > 0 {
		sweepC = take(min(11, max(7, avail/3)), 7)
	}
	if n := len(s.layers()); n > 0 {
		sqnr = take(min(n+2, max(3, avail/3)), 3)
		hist = take(avail, 6)
	}
	return
}

func (s *quantScreen) SetSize(w, h int) {
	s.w, s.h = w, h
	s.bar.Width = max(8, s.rightWidth()-44)
	s.redraw()
}

// headHeight is the status lines' height: status, progress and, when the
// run has finished, the honest sentence.
func (s *quantScreen) headHeight() int {
	if s.state == runDone {
		return 3
	}
	return 2
}

// redraw draws the histogram, the sweep chart and the QAT chart at their
// sizes.
func (s *quantScreen) redraw() {
	rw := s.rightWidth()
	qat, _, sweepC, _, hist := s.sections(s.h - s.headHeight())
	s.acc.setSize(rw, qat)
	s.histView, s.sweepView = "", ""
	if ls := s.layers(); hist > 1 && len(ls) > 0 {
		s.layer = min(s.layer, len(ls)-1)
		l := ls[s.layer]
		q := quantHist{hist: l.Hist, clipMin: float64(l.ClipMin), clipMax: float64(l.ClipMax), step: float64(l.Step)}
		s.histView = q.View(s.c.styles, rw, hist-1)
	}
	if sweepC > 0 {
		s.sweepView = s.sweepChart().View(s.c.styles, rw, sweepC)
	}
}

// sweepChart plots test accuracy and size (as a share of the float
// model's file) against the bit width.
func (s *quantScreen) sweepChart() xyPlot {
	st := s.c.styles
	acc := xySeries{name: "test accuracy", style: st.Train, glyph: '●', join: joinLine}
	size := xySeries{name: "size, % of float", style: st.Val, glyph: '■', join: joinLine}
	base := s.result.Baseline
	for i := len(s.result.Sweep) - 1; i >= 0; i-- { // fewest bits on the left
		r := s.result.Sweep[i]
		acc.pts = append(acc.pts, point{float64(r.Bits), r.TestAccuracy})
		if base != nil && base.SizeBytes > 0 {
			size.pts = append(size.pts, point{float64(r.Bits), float64(r.SizeBytes) / float64(base.SizeBytes)})
		}
	}
	return xyPlot{title: "Sweep", xTitle: "weight bits", series: []xySeries{acc, size}, yFixed: [2]float64{0, 1},
		yPercent: true, xFmt: func(v float64) string { return fmt.Sprintf("%.0f", v) }}
}

func (s *quantScreen) View() string {
	fw := s.formWidth()
	info := ""
	if id := s.chosen(); id != 0 {
		info = s.bases.describe(id)
		if _, known := s.bases.dataFor(id); !known && info != "" {
			info += " · data: " + s.bases.current + "?"
		}
	}
	if s.form.fields[fqMode].value() != "qat" && s.form.focus == fqEpochs {
		info = "QAT epochs apply to mode qat only"
	}
	form := s.form.view(s.c.styles, "Quantize a model", info, s.notice, fw)
	return hjoin(2, []string{form, s.runView()}, []int{fw, s.rightWidth()})
}

// what names a quantization in a few words: "8-bit ptq per-channel".
func quantWhat(bits int, mode, gran string) string {
	return fmt.Sprintf("%d-bit %s %s", bits, mode, gran)
}

// statusLine says what the run on view is doing, in words.
func (s *quantScreen) statusLine() string {
	st := s.c.styles
	r := fmt.Sprintf("run %d", s.run)
	sp := s.spec
	switch s.state {
	case runNone:
		return st.Muted.Render("no run yet: choose a model, then s quantizes, w sweeps 8…2 bits")
	case runRunning:
		what := fmt.Sprintf("run %d %s %s", sp.BaseRun, sp.Mode, sp.Granularity)
		if len(sp.Sweep) > 0 {
			what += fmt.Sprintf(" sweep of %d widths", len(sp.Sweep))
		}
		line := st.Accent.Render(r+" quantizing") + " " + what
		if b := s.stats.Bits; b > 0 {
			line += fmt.Sprintf(" · %d-bit", b)
			if i := indexOf(sp.Sweep, b); i >= 0 {
				line += fmt.Sprintf(" (%d of %d)", i+1, len(sp.Sweep))
			}
		}
		return line
	case runDone:
		rec := s.record()
		line := fmt.Sprintf("%s: %s · acc %s", r, quantWhat(rec.Bits, rec.Mode, rec.Granularity), pct(rec.TestAccuracy))
		if b := s.result.Baseline; b != nil {
			d := rec.Compare(b)
			line += fmt.Sprintf(" (%+.1f pt) · size ×%.2f · latency ×%.2f", d.AccuracyPoints, d.SizeRatio, d.LatencyRatio)
		}
		return st.Good.Render(line)
	}
	return runStateLine(st, s.state, r, s.err)
}

func indexOf(xs []int, x int) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}

// progressLine is QAT's epoch bar, what a PTQ run is doing, or the finished
// record's measured figures beside its base model's.
func (s *quantScreen) progressLine() string {
	t := s.stats
	switch {
	case s.state == runDone:
		rec, b := s.record(), s.result.Baseline
		line := fmt.Sprintf("%s · %.1fµs · %s/s", bytesText(rec.SizeBytes), rec.LatencyMicros, count(rec.ThroughputSPS))
		if b != nil {
			line += fmt.Sprintf(" · float base: %s · %.1fµs · %s", bytesText(b.SizeBytes), b.LatencyMicros, pct(b.TestAccuracy))
		}
		return line
	case !s.active() || s.state == runPending || s.state == runQueued:
		return ""
	case t.Phase == "qat" && t.Epochs > 0:
		done := runProgress(t)
		return fmt.Sprintf("QAT epoch %d/%d %s %s/s eta %s", t.Epoch, t.Epochs, s.bar.ViewAs(done),
			count(t.SamplesPerSec), eta(t.Elapsed, done))
	case t.Phase != "":
		return "calibrating, quantizing, then measuring accuracy, size and latency on the integer path"
	}
	return "loading the base model and measuring it"
}

// noteLine is the plain sentence when the quantized model is no smaller or
// no faster than its base.
func (s *quantScreen) noteLine(w int) string {
	st := s.c.styles
	if s.state != runDone || s.result.Baseline == nil {
		return ""
	}
	if n := s.record().Compare(s.result.Baseline).Note; n != "" {
		return st.Warn.Render(fit("Honest numbers: "+n+".", w, 1))
	}
	return st.Good.Render(fit("Smaller and faster than its float base, measured side by side.", w, 1))
}

func (s *quantScreen) runView() string {
	st := s.c.styles
	rw := s.rightWidth()
	head := vjoin(fit(s.statusLine(), rw, 1), fit(s.progressLine(), rw, 1))
	if s.state == runFailed {
		head = wrapText(st.Bad, ansi.Strip(s.statusLine()), rw, 2)
	}
	head = block(head, rw, 2)
	if note := s.noteLine(rw); note != "" {
		head += "\n" + note
	}
	if s.state == runNone || (s.result == nil && !(s.active() && s.spec.Mode == "qat")) {
		if s.state == runNone || s.state.live() {
			return vjoin(head, "", wrapText(st.Muted,
				"Quantization shows here: each layer's signal-to-quantization-noise ratio, a histogram of a "+
					"layer's weights with the quantization grid and the clipping range over it, accuracy while "+
					"QAT fine-tunes, and for a sweep (w) accuracy and size at 8, 6, 4, 3 and 2 bits.", rw, 5))
		}
		return head
	}
	qat, sweepT, sweepC, sqnr, hist := s.sections(s.h - lineCount(head))
	var parts []string
	if sweepT > 0 {
		parts = append(parts, s.sweepTable(rw, sweepT))
	}
	if sweepC > 0 {
		parts = append(parts, block(s.sweepView, rw, sweepC))
	}
	if qat > 0 {
		parts = append(parts, block(s.acc.View(), rw, qat))
	}
	if sqnr > 0 {
		parts = append(parts, s.sqnrTable(rw, sqnr))
	}
	if hist > 0 && s.histView != "" {
		parts = append(parts, vjoin(heading(st, fit(s.histTitle(), rw-2, 1), rw), s.histView))
	}
	return vjoin(append([]string{head}, parts...)...)
}

// sweepTable is one row per bit width, with the float base first and the
// width on view selected.
func (s *quantScreen) sweepTable(w, h int) string {
	st := s.c.styles
	title := "Bit-width sweep"
	if len(s.result.Sweep) > 1 {
		title += " · </> picks the width shown below"
	}
	t := table{selected: s.view + 1, cols: []column{{title: "bits"}, {title: "test acc", right: true},
		{title: "Δ", right: true}, {title: "size", right: true}, {title: "×size", right: true},
		{title: "latency", right: true}, {title: "×latency", right: true}, {title: "worst out SQNR", right: true}}}
	b := s.result.Baseline
	if b != nil {
		t.rows = append(t.rows, []cell{{text: "float"}, {text: pct(b.TestAccuracy)}, {text: ""},
			{text: bytesText(b.SizeBytes)}, {text: "1.00"}, {text: fmt.Sprintf("%.1fµs", b.LatencyMicros)}, {text: "1.00"}, {text: ""}})
	} else {
		t.selected = s.view
	}
	for _, r := range s.result.Sweep {
		d := r.Compare(b)
		row := []cell{{text: strconv.Itoa(r.Bits)}, {text: pct(r.TestAccuracy)}, {text: fmt.Sprintf("%+.1f", d.AccuracyPoints)},
			{text: bytesText(r.SizeBytes)}, {text: fmt.Sprintf("%.2f", d.SizeRatio)},
			{text: fmt.Sprintf("%.1fµs", r.LatencyMicros)}, {text: fmt.Sprintf("%.2f", d.LatencyRatio)}, {text: worstSQNR(r)}}
		if b == nil {
			row[2].text, row[4].text, row[6].text = "", "", ""
		}
		t.rows = append(t.rows, row)
	}
	return vjoin(heading(st, fit(title, w-2, 1), w), t.View(st, w, h-1))
}

// worstSQNR is the lowest output SQNR of r's layers, in dB.
func worstSQNR(r *lab.Result) string {
	if r.Quant == nil || len(r.Quant.Layers) == 0 {
		return ""
	}
	return sqnrText(r.Quant.Layers[worstLayer(r)].OutputSQNR)
}

func sqnrText(db float64) string {
	if math.IsInf(db, 1) {
		return "exact"
	}
	return fmt.Sprintf("%.1f dB", db)
}

// sqnrTable is one row per quantized layer: its shape, the SQNR of its
// weights and of its outputs, and the range of its weight steps; the layer
// whose histogram is drawn is selected, the lowest output SQNR starred.
func (s *quantScreen) sqnrTable(w, h int) string {
	st := s.c.styles
	ls := s.layers()
	rec := s.record()
	title := fmt.Sprintf("Layers, %s: SQNR (higher is better)", quantWhat(rec.Bits, rec.Mode, rec.Granularity))
	t := table{selected: s.layer, cols: []column{{title: "layer"}, {title: "in→out"}, {title: "weights", right: true},
		{title: "outputs", right: true}, {title: "step", right: true}}}
	worst := worstLayer(rec)
	for i, l := range ls {
		step := num3(float64(l.ScaleMin))
		if l.ScaleMax != l.ScaleMin {
			step += "–" + num3(float64(l.ScaleMax))
		}
		t.rows = append(t.rows, []cell{{text: l.Name}, {text: fmt.Sprintf("%d→%d", l.In, l.Out)},
			{text: sqnrText(l.WeightSQNR)}, {text: sqnrText(l.OutputSQNR), best: i == worst && len(ls) > 1}, {text: step}})
	}
	note := ""
	if len(ls) > 1 {
		note = " · * costs most"
	}
	return vjoin(heading(st, fit(title+note, w-2, 1), w), t.View(st, w, h-1))
}

// histTitle names the histogram: the layer, and whose grid is drawn.
func (s *quantScreen) histTitle() string {
	ls := s.layers()
	l := ls[min(s.layer, len(ls)-1)]
	grid := "its one grid"
	if s.record().Granularity == "per-channel" {
		grid = fmt.Sprintf("grid of channel %d, the coarsest", l.Channel)
	}
	t := fmt.Sprintf("Weights of %s (%d→%d) · %s", l.Name, l.In, l.Out, grid)
	if len(ls) > 1 {
		t += fmt.Sprintf(" · [/] %d of %d", s.layer+1, len(ls))
	}
	return t
}

// quantText says how a quantize result was made: "quantize 8-bit ptq".
func quantText(r *lab.Result) string {
	return strings.TrimSpace(fmt.Sprintf("quantize %d-bit %s", r.Bits, r.Mode))
}
