package datasets

import (
	"bufio"
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/optlab/optlab/core"
)

// LoadCSV loads a table of numeric features and one label column.
//
// label picks the label column by header name or by 0-based index (a number
// is always an index); empty means the last column. The first row is a
// header when one of its feature cells is not a number, or when label names
// a column. Labels are class names: they are numbered in sorted order,
// numerically when all are integers, and an empty label marks an unlabelled
// sample (-1). The dataset is named after the file, without its extension.
//
// Errors name the file, and where one applies the line and column, e.g.
//
//	data.csv line 17: column "x3" is not a number ("abc")
//
// Columns are named by header, or by 0-based index when there is none.
func LoadCSV(path, label string) (*core.Dataset, error) {
	rows, lines, err := readCSV(path)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: empty file", path)
	}
	cols := len(rows[0])
	if cols < 2 {
		return nil, fmt.Errorf("%s line %d: %d column; need features and a label", path, lines[0], cols)
	}
	lc, header, err := labelColumn(rows[0], label)
	if err != nil {
		return nil, fmt.Errorf("%s line %d: %w", path, lines[0], err)
	}
	colName := func(j int) string { return strconv.Itoa(j) }
	if header {
		names := rows[0]
		colName = func(j int) string { return strconv.Quote(strings.TrimSpace(names[j])) }
		rows, lines = rows[1:], lines[1:]
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: a header but no data rows", path)
	}

	d := &core.Dataset{Name: strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)),
		X: make([]float32, 0, len(rows)*(cols-1)), Y: make([]int, len(rows)), SampleShape: []int{cols - 1}}
	labels := make([]string, len(rows))
	for i, rec := range rows {
		if len(rec) != cols {
			return nil, fmt.Errorf("%s line %d: %d columns, expected %d", path, lines[i], len(rec), cols)
		}
		for j, cell := range rec {
			if j == lc {
				labels[i] = strings.TrimSpace(cell)
				continue
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(cell), 64)
			switch {
			case err != nil && !errors.Is(err, strconv.ErrRange):
				return nil, fmt.Errorf("%s line %d: column %s is not a number (%q)", path, lines[i], colName(j), cell)
			case math.IsInf(v, 0) || math.IsNaN(v) || math.Abs(v) > math.MaxFloat32:
				return nil, fmt.Errorf("%s line %d: column %s is not a finite number (%q)", path, lines[i], colName(j), cell)
			}
			d.X = append(d.X, float32(v))
		}
	}

	d.Classes = classesOf(labels)
	if len(d.Classes) < 2 {
		return nil, fmt.Errorf("%s: label column %s: need at least 2 distinct labels, found %d", path, colName(lc), len(d.Classes))
	}
	index := make(map[string]int, len(d.Classes))
	for c, name := range d.Classes {
		index[name] = c
	}
	for i, l := range labels {
		d.Y[i] = -1
		if l != "" {
			d.Y[i] = index[canonicalLabel(l)]
		}
	}
	return d, nil
}

// readCSV returns path's records and the line each starts on.
func readCSV(path string) ([][]string, []int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fileError(path, err)
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReader(f))
	r.FieldsPerRecord = -1 // ragged rows get our message, with the expected count
	r.TrimLeadingSpace = true
	var rows [][]string
	var lines []int
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return rows, lines, nil
		}
		if pe, ok := errors.AsType[*csv.ParseError](err); ok {
			return nil, nil, fmt.Errorf("%s line %d: %w", path, pe.Line, pe.Err)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		rows = append(rows, rec)
		lines = append(lines, line)
	}
}

// labelColumn resolves the label spec against the first row and says
// whether that row is a header.
func labelColumn(first []string, label string) (col int, header bool, err error) {
	col = len(first) - 1
	if label != "" {
		if i, err := strconv.Atoi(label); err == nil {
			if i < 0 || i >= len(first) {
				return 0, false, fmt.Errorf("label column %d out of range: %d columns, numbered from 0", i, len(first))
			}
			col = i
		} else {
			col = slices.IndexFunc(first, func(s string) bool { return strings.TrimSpace(s) == label })
			if col < 0 {
				return 0, false, fmt.Errorf("no column named %q (first row: %s)", label, strings.Join(first, ", "))
			}
			return col, true, nil
		}
	}
	for j, cell := range first {
		if _, err := strconv.ParseFloat(strings.TrimSpace(cell), 64); j != col && err != nil && !errors.Is(err, strconv.ErrRange) {
			return col, true, nil
		}
	}
	return col, false, nil
}

// classesOf returns the distinct non-empty labels in class order: by value
// when all are integers, else sorted as strings.
func classesOf(labels []string) []string {
	seen := map[string]bool{}
	var names []string
	for _, l := range labels {
		if l == "" {
			continue
		}
		if l = canonicalLabel(l); !seen[l] {
			seen[l] = true
			names = append(names, l)
		}
	}
	numeric := true
	for _, n := range names {
		if _, err := strconv.Atoi(n); err != nil {
			numeric = false
			break
		}
	}
	if !numeric {
		slices.Sort(names)
		return names
	}
	slices.SortFunc(names, func(a, b string) int {
		x, _ := strconv.Atoi(a)
		y, _ := strconv.Atoi(b)
		return cmp.Compare(x, y)
	})
	return names
}

// canonicalLabel writes integer labels one way, so "07" and "7" are one class.
func canonicalLabel(l string) string {
	if i, err := strconv.Atoi(l); err == nil {
		return strconv.Itoa(i)
	}
	return l
}
