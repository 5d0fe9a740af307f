package datasets

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/optlab/optlab/core"
)

// Default is the name of the dataset optlab opens when none is given.
const Default = "digits"

// Info describes a built-in dataset.
type Info struct {
	Name        string
	Description string // one line
	SampleShape []int
	Classes     int
	Samples     int // generated when no sample count is asked for
}

// builtin is a generator with its defaults.
type builtin struct {
	Info
	noise    float64 // used when LoadOptions.Noise ≤ 0
	generate func(n int, noise float64, seed uint64) *core.Dataset
}

// builtins lists the generators, the default first.
var builtins = []builtin{
	{Info{Name: "digits", Description: "handwritten-style digits drawn from stroke templates, 16x16 grayscale",
		SampleShape: []int{digitSize, digitSize, 1}, Classes: 10, Samples: 8000}, 0.1, Digits},
	{Info{Name: "spiral", Description: "two interleaved spiral arms (TensorFlow Playground)",
		SampleShape: []int{2}, Classes: 2, Samples: 1000}, 0.2, Spiral},
	{Info{Name: "circles", Description: "a disc inside a ring (TensorFlow Playground)",
		SampleShape: []int{2}, Classes: 2, Samples: 1000}, 0.1, Circles},
	{Info{Name: "xor", Description: "quadrants labelled by the sign of x*y (TensorFlow Playground)",
		SampleShape: []int{2}, Classes: 2, Samples: 1000}, 0.1, XOR},
	{Info{Name: "gauss", Description: "two overlapping Gaussian clouds (TensorFlow Playground)",
		SampleShape: []int{2}, Classes: 2, Samples: 1000}, 0.1, Gauss},
	{Info{Name: "moons", Description: "two interleaved half circles (scikit-learn make_moons)",
		SampleShape: []int{2}, Classes: 2, Samples: 1000}, 0.15, Moons},
	{Info{Name: "blobs", Description: "20 tabular features (5 informative, 5 redundant, 10 noise), 4 classes of 2 clusters each",
		SampleShape: []int{blobsInformative + blobsRedundant + blobsNoise}, Classes: blobsClasses, Samples: 2000}, 0.01, Blobs},
}

// Builtins describes the built-in datasets, the default (digits) first.
func Builtins() []Info {
	infos := make([]Info, len(builtins))
	for i, b := range builtins {
		infos[i] = b.Info
		infos[i].SampleShape = append([]int(nil), b.SampleShape...)
	}
	return infos
}

// LoadOptions adjust Load. The zero value loads a dataset as published, or
// a built-in one at its default size and noise.
type LoadOptions struct {
	Label    string  // CSV label column: a header name or a 0-based index; empty: the last column
	Seed     uint64  // seeds a generator, and the choice of samples when Samples trims a file
	Samples  int     // samples to generate, or to keep (stratified) from a file; 0: all or the default
	Noise    float64 // a generator's noise; ≤ 0: its default
	CacheDir string  // where Fetch put mnist and fashion-mnist; empty: CacheDir()
}

// Load returns the dataset spec names: a built-in name (see Builtins), mnist
// or fashion-mnist (the training set, from the cache filled by Fetch), a
// path to a .csv file, or a path to an IDX images file whose labels file
// lies beside it (see LoadIDX).
func Load(spec string, opt LoadOptions) (*core.Dataset, error) {
	var d *core.Dataset
	var err error
	_, remote := published[spec]
	switch b := findBuiltin(spec); {
	case b != nil || remote:
		if opt.Label != "" {
			return nil, fmt.Errorf("%s: a label column applies only to CSV files", spec)
		}
		if b != nil {
			return b.load(opt), nil
		}
		d, err = loadCached(spec, opt.CacheDir)
	default:
		d, err = loadFile(spec, opt.Label)
	}
	if err != nil {
		return nil, err
	}
	return Subsample(d, opt.Samples, opt.Seed), nil
}

func findBuiltin(name string) *builtin {
	for i := range builtins {
		if builtins[i].Name == name {
			return &builtins[i]
		}
	}
	return nil
}

// load generates the set with opt's size, noise and seed or the defaults.
func (b *builtin) load(opt LoadOptions) *core.Dataset {
	n, noise := opt.Samples, opt.Noise
	if n <= 0 {
		n = b.Samples
	}
	if noise <= 0 {
		noise = b.noise
	}
	return b.generate(n, noise, opt.Seed)
}

// loadFile loads a CSV file, or an IDX one if its name or content says so.
func loadFile(path, label string) (*core.Dataset, error) {
	info, err := os.Stat(path)
	if err != nil {
		if !looksLikePath(path) && errors.Is(err, fs.ErrNotExist) {
			return nil, unknownDataset(path)
		}
		return nil, fileError(path, err)
	}
	if info.IsDir() {
		return nil, fmt.Errorf("%s: is a directory, not a .csv or IDX file", path)
	}
	idx := !strings.EqualFold(filepath.Ext(path), ".csv") &&
		(strings.Contains(filepath.Base(path), imagesSuffix) || isIDX(path))
	if !idx {
		return LoadCSV(path, label)
	}
	if label != "" {
		return nil, fmt.Errorf("%s: a label column applies only to CSV files", path)
	}
	return LoadIDX(path)
}

// looksLikePath tells a mistyped dataset name from a missing file.
func looksLikePath(s string) bool {
	return strings.ContainsRune(s, filepath.Separator) || strings.ContainsRune(s, '/') || filepath.Ext(s) != ""
}

func unknownDataset(name string) error {
	names := make([]string, len(builtins))
	for i, b := range builtins {
		names[i] = b.Name
	}
	return fmt.Errorf("unknown dataset %q (built-in: %s; to fetch: %s; or a .csv or IDX file)",
		name, strings.Join(names, ", "), strings.Join(Fetchable(), ", "))
}

// fileError turns an os error into "path: reason" without Go's "open path:"
// prefix, so messages name the file once.
func fileError(path string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: no such file", path)
	}
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		err = pe.Err
	}
	return fmt.Errorf("%s: %w", path, err)
}

// CacheDir returns the directory where Fetch stores datasets and Load finds
// them: $OPTLAB_DATA if set, else optlab under the user's cache directory.
func CacheDir() (string, error) {
	if dir := os.Getenv("OPTLAB_DATA"); dir != "" {
		return dir, nil
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no data cache directory (set OPTLAB_DATA): %w", err)
	}
	return filepath.Join(dir, "optlab"), nil
}
