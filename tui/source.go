package tui

import (
	"github.com/optlab/optlab/core"
	"github.com/optlab/optlab/datasets"
)

// dataInfo describes a dataset the Data screen lists.
type dataInfo struct {
	Name, Description string
	Shape             []int // nil for a file until it is loaded
	File              bool  // given with --data rather than built in
}

// builtinData lists the built-in datasets, the default first.
func builtinData() []dataInfo {
	var out []dataInfo
	for _, b := range datasets.Builtins() {
		out = append(out, dataInfo{Name: b.Name, Description: b.Description, Shape: b.SampleShape})
	}
	return out
}

// builtinShape is the sample shape of built-in dataset name, nil for any
// other name.
func builtinShape(name string) []int {
	for _, b := range datasets.Builtins() {
		if b.Name == name {
			return b.SampleShape
		}
	}
	return nil
}

// defaultData is the dataset used when none is given.
func defaultData() string { return datasets.Default }

// describeFile returns the listing entry for a dataset file given with --data.
func describeFile(spec string) dataInfo {
	return dataInfo{Name: spec, Description: "the file given with --data", File: true}
}

// loadData loads dataset spec (a built-in name or a file) as the lab will.
func loadData(spec string, seed uint64) (*core.Dataset, error) {
	return datasets.Load(spec, datasets.LoadOptions{Seed: seed})
}
