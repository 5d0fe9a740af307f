package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// The smallest terminal the lab draws its screens in.
const (
	minWidth  = 60
	minHeight = 20
)

// layout is how the terminal is split: the tab bar, the screen's body and
// the help footer, each as wide as the terminal.
type layout struct{ Width, Tabs, Body, Footer int }

// computeLayout splits a w×h terminal; the caller passes the measured heights
// of the tab bar and the footer, so a taller footer (full help) shrinks the
// body rather than overflowing.
func computeLayout(w, h, tabsH, footerH int) layout {
	return layout{Width: max(0, w), Tabs: tabsH, Footer: footerH, Body: max(0, h-tabsH-footerH)}
}

// tooSmall says whether a w×h terminal is below the minimum.
func tooSmall(w, h int) bool { return w < minWidth || h < minHeight }

// tooSmallView is what the lab shows instead of its screens in a terminal
// below the minimum size.
func tooSmallView(w, h int) string {
	msg := fmt.Sprintf("terminal too small (need %d×%d, have %d×%d)", minWidth, minHeight, w, h)
	lines := []string{msg, "enlarge it, or press q to quit"}
	if ansi.StringWidth(msg) > w { // wrap rather than hide the numbers
		lines = []string{"terminal too small", fmt.Sprintf("need %d×%d", minWidth, minHeight),
			fmt.Sprintf("have %d×%d", w, h), "q quits"}
	}
	return fit(strings.Join(lines, "\n"), w, h)
}

// fit cuts s to at most w columns and h lines; it never pads.
func fit(s string, w, h int) string {
	if w <= 0 || h <= 0 {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for i, l := range lines {
		if ansi.StringWidth(l) > w {
			lines[i] = ansi.Truncate(l, w, "")
		}
	}
	return strings.Join(lines, "\n")
}

// block makes s exactly w columns by h lines: longer lines are cut (with an
// ellipsis), shorter ones padded with spaces, missing lines added blank.
func block(s string, w, h int) string {
	if w <= 0 || h <= 0 {
		return ""
	}
	var lines []string
	if s != "" {
		lines = strings.Split(s, "\n")
	}
	if len(lines) > h {
		lines = lines[:h]
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	for i, l := range lines {
		lines[i] = padTo(l, w)
	}
	return strings.Join(lines, "\n")
}

// padTo cuts or pads one line to exactly w columns.
func padTo(l string, w int) string {
	lw := ansi.StringWidth(l)
	if lw > w {
		return ansi.Truncate(l, w, "…")
	}
	return l + strings.Repeat(" ", w-lw)
}

// hjoin places blocks side by side, separated by gap spaces; each block is
// first made exactly its given width and the height of the tallest block.
func hjoin(gap int, blocks []string, widths []int) string {
	h := 0
	for _, b := range blocks {
		h = max(h, lipgloss.Height(b))
	}
	parts := make([]string, 0, 2*len(blocks))
	for i, b := range blocks {
		if widths[i] <= 0 {
			continue
		}
		if len(parts) > 0 && gap > 0 {
			parts = append(parts, block("", gap, h))
		}
		parts = append(parts, block(b, widths[i], h))
	}
	return lipgloss.JoinHorizontal(lipgloss.Top, parts...)
}

// vjoin stacks non-empty sections.
func vjoin(sections ...string) string {
	var out []string
	for _, s := range sections {
		if s != "" {
			out = append(out, s)
		}
	}
	return strings.Join(out, "\n")
}

// heading is a section title followed by a rule to width w.
func heading(st *Styles, title string, w int) string {
	t := st.Heading.Render(title)
	rest := w - ansi.StringWidth(title) - 1
	if rest <= 0 {
		return fit(t, w, 1)
	}
	return t + " " + st.Faint.Render(strings.Repeat("─", rest))
}
