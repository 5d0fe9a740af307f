package datasets

import (
	"slices"
	"testing"
)

func TestLoadCSV(t *testing.T) {
	t.Chdir(t.TempDir())
	tests := []struct {
		name, data, label string
		x                 []float32
		y                 []int
		classes           []string
		shape             []int
	}{
		{name: "header, string labels", data: "a,b,species\n1,2,setosa\n3,4,virginica\n5,6,setosa\n",
			x: []float32{1, 2, 3, 4, 5, 6}, y: []int{0, 1, 0}, classes: []string{"setosa", "virginica"}, shape: []int{2}},
		{name: "no header, integer labels sorted by value", data: "0.5,10\n1.5,2\n2.5,10\n-1e3,7\n",
			x: []float32{0.5, 1.5, 2.5, -1000}, y: []int{2, 0, 2, 1}, classes: []string{"2", "7", "10"}, shape: []int{1}},
		{name: "label by name, first column", data: "y,x1,x2\nb,1,2\na,3,4\n", label: "y",
			x: []float32{1, 2, 3, 4}, y: []int{1, 0}, classes: []string{"a", "b"}, shape: []int{2}},
		{name: "label by index", data: "1,0,2\n3,1,4\n", label: "1",
			x: []float32{1, 2, 3, 4}, y: []int{0, 1}, classes: []string{"0", "1"}, shape: []int{2}},
		{name: "spaces, quotes, blank lines, empty label unlabelled", data: " 1 , \"2\",x\n\n3,4,\n5,6,y\n",
			x: []float32{1, 2, 3, 4, 5, 6}, y: []int{0, -1, 1}, classes: []string{"x", "y"}, shape: []int{2}},
		{name: "07 and 7 are one class", data: "1,07\n2,7\n3,8\n",
			x: []float32{1, 2, 3}, y: []int{0, 0, 1}, classes: []string{"7", "8"}, shape: []int{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			writeFile(t, "data.csv", []byte(tt.data))
			d, err := LoadCSV("data.csv", tt.label)
			if err != nil {
				t.Fatal(err)
			}
			if err := d.Validate(); err != nil {
				t.Fatal(err)
			}
			if d.Name != "data" || !slices.Equal(d.X, tt.x) || !slices.Equal(d.Y, tt.y) ||
				!slices.Equal(d.Classes, tt.classes) || !slices.Equal(d.SampleShape, tt.shape) {
				t.Errorf("got %q X=%v Y=%v classes=%v shape=%v\nwant X=%v Y=%v classes=%v shape=%v",
					d.Name, d.X, d.Y, d.Classes, d.SampleShape, tt.x, tt.y, tt.classes, tt.shape)
			}
		})
	}
}

func TestLoadCSVErrors(t *testing.T) {
	t.Chdir(t.TempDir())
	tests := []struct{ name, data, label, want string }{
		{"not a number, header", "x1,x2,x3,y\n1,2,3,a\n1,2,abc,b\n", "",
			`data.csv line 3: column "x3" is not a number ("abc")`},
		{"not a number, no header", "1,2,a\n1,,b\n", "",
			`data.csv line 2: column 1 is not a number ("")`},
		{"not finite", "x,y\nNaN,a\n", "",
			`data.csv line 2: column "x" is not a finite number ("NaN")`},
		{"ragged row", "a,b,c\n1,2,x\n1,2\n", "",
			`data.csv line 3: 2 columns, expected 3`},
		{"ragged row after a multi-line field", "a,b,c\n1,2,\"x\ny\"\n1,2,3,4\n", "",
			`data.csv line 4: 4 columns, expected 3`},
		{"empty file", "", "", `data.csv: empty file`},
		{"header only", "a,b\n", "", `data.csv: a header but no data rows`},
		{"one column", "1\n2\n", "", `data.csv line 1: 1 column; need features and a label`},
		{"unknown label column", "a,b\n1,x\n", "label",
			`data.csv line 1: no column named "label" (first row: a, b)`},
		{"label index out of range", "a,b\n1,x\n", "2",
			`data.csv line 1: label column 2 out of range: 2 columns, numbered from 0`},
		{"one class", "a,b\n1,x\n2,x\n", "", `data.csv: label column "b": need at least 2 distinct labels, found 1`},
		{"bad quote", "a,b\n1,x\"y\n", "", `data.csv line 2: bare " in non-quoted-field`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			writeFile(t, "data.csv", []byte(tt.data))
			_, err := LoadCSV("data.csv", tt.label)
			if err == nil || err.Error() != tt.want {
				t.Errorf("got error %v\nwant %s", err, tt.want)
			}
		})
	}
	if _, err := LoadCSV("missing.csv", ""); err == nil || err.Error() != "missing.csv: no such file" {
		t.Errorf("missing file: got %v", err)
	}
}
