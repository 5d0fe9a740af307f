package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/lipgloss"

	"github.com/optlab/optlab/core"
)

// shades are grey levels for terminals without colour, darkest first.
var shades = []rune(" ░▒▓█")

// isImage says whether a sample shape is an image (H, W[, C]).
func isImage(shape []int) bool {
	return len(shape) == 3 || len(shape) == 2 && shape[0] > 1 && shape[1] > 1
}

// imageView draws one image sample with half blocks, shrunk f times (each
// drawn pixel the mean of an f×f block, f ≥ 1): each cell is two pixels,
// the top one as the foreground of "▀" and the bottom one as the
// background, in grey. Without colour each cell is the shade (░▒▓█) of the
// two pixels' mean. Values are scaled to the sample's own range; channels
// are averaged.
func imageView(st *Styles, x []float32, shape []int, f int) string {
	hgt, wid := (shape[0]+f-1)/f, (shape[1]+f-1)/f
	ch := 1
	if len(shape) == 3 {
		ch = max(1, shape[2])
	}
	px := make([]float64, hgt*wid)
	n := make([]int, hgt*wid)
	for r := range shape[0] {
		for c := range shape[1] {
			for k := range ch {
				px[r/f*wid+c/f] += float64(x[(r*shape[1]+c)*ch+k])
			}
			n[r/f*wid+c/f] += ch
		}
	}
	lo, hi := 1e300, -1e300
	for i := range px {
		px[i] /= float64(n[i])
		lo, hi = min(lo, px[i]), max(hi, px[i])
	}
	if hi <= lo {
		hi = lo + 1
	}
	at := func(r, c int) float64 {
		if r >= hgt {
			return 0
		}
		return (px[r*wid+c] - lo) / (hi - lo)
	}
	grey := func(v float64) lipgloss.Color {
		g := int(v*255 + 0.5)
		return lipgloss.Color(fmt.Sprintf("#%02x%02x%02x", g, g, g))
	}
	var lines []string
	for r := 0; r < hgt; r += 2 {
		var sb strings.Builder
		for c := range wid {
			top, bot := at(r, c), at(r+1, c)
			if st.NoColor {
				sb.WriteRune(shades[min(len(shades)-1, int((top+bot)/2*float64(len(shades))))])
				continue
			}
			sb.WriteString(st.Renderer.NewStyle().Foreground(grey(top)).Background(grey(bot)).Render("▀"))
		}
		lines = append(lines, sb.String())
	}
	return strings.Join(lines, "\n")
}

// imageSamples draws up to n samples of d side by side, the first sample of
// each class in turn, labelled with their class, in at most width columns
// and height lines: images too tall for height are shrunk by the smallest
// whole factor that makes them fit.
func imageSamples(st *Styles, d *core.Dataset, n, width, height int) string {
	f := 1
	for f < d.SampleShape[0] && (d.SampleShape[0]+f-1)/f > 2*(height-1) {
		f++
	}
	wid := (d.SampleShape[1] + f - 1) / f
	n = min(n, (width+1)/(wid+1))
	var picks []int
	seen := map[int]bool{}
	for i := 0; i < d.Len() && len(picks) < n; i++ {
		if y := d.Y[i]; !seen[y] {
			seen[y] = true
			picks = append(picks, i)
		}
	}
	var cols []string
	var widths []int
	for _, i := range picks {
		label := "?"
		if y := d.Y[i]; y >= 0 {
			label = d.Classes[y]
		}
		cols = append(cols, imageView(st, d.Sample(i), d.SampleShape, f)+"\n"+st.Muted.Render(padTo(label, wid)))
		widths = append(widths, wid)
	}
	if len(cols) == 0 {
		return ""
	}
	return hjoin(1, cols, widths)
}
