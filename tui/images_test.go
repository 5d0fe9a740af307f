package tui

import (
	"strings"
	"testing"

	"github.com/optlab/optlab/core"
)

// TestImageSamplesShrinkToFit: 28×28 images take 14 lines plus a label at
// full size; on a short terminal they are shrunk by a whole factor rather
// than cut off at the bottom.
func TestImageSamplesShrinkToFit(t *testing.T) {
	st := NewStyles(plainRenderer())
	d := &core.Dataset{SampleShape: []int{28, 28, 1}, Classes: []string{"a", "b"},
		X: make([]float32, 2*28*28), Y: []int{0, 1}}
	for _, c := range []struct{ height, lines, width int }{
		{20, 15, 28}, // full size
		{15, 15, 28},
		{14, 8, 14}, // halved: 7 lines and the label
		{8, 8, 14},
		{7, 6, 10}, // a third: ceil(28/3) = 10 pixels, 5 lines
	} {
		view := imageSamples(st, d, 1, 80, c.height)
		lines := strings.Split(view, "\n")
		if len(lines) != c.lines || len([]rune(lines[0])) != c.width {
			t.Errorf("height %d: %d lines of %d columns, want %d of %d", c.height, len(lines),
				len([]rune(lines[0])), c.lines, c.width)
		}
	}
}

// TestImageViewAveragesBlocks: shrunk twice, a 4×4 image whose top-left
// 2×2 block is bright and the rest dark has one bright pixel of four.
func TestImageViewAveragesBlocks(t *testing.T) {
	st := NewStyles(plainRenderer()) // no colour: shades of the mean of each cell's two pixels
	x := make([]float32, 16)
	x[0], x[1], x[4], x[5] = 1, 1, 1, 1
	got := imageView(st, x, []int{4, 4}, 2)
	// One line of two cells: the left one's pixels are 1 (top) and 0 (bottom).
	if want := string([]rune{shades[2], shades[0]}); got != want {
		t.Errorf("shrunk image %q, want %q", got, want)
	}
}
