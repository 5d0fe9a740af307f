package datasets

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestLoadIDXRoundTrip(t *testing.T) {
	for _, gz := range []bool{false, true} {
		dir := t.TempDir()
		path := writeMNIST(t, dir, "tiny", gz, 25)
		d, err := LoadIDX(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Validate(); err != nil {
			t.Fatal(err)
		}
		if d.Name != "tiny" || d.Len() != 25 || !slices.Equal(d.SampleShape, []int{4, 3, 1}) || d.NumClasses() != 10 {
			t.Fatalf("gz=%v: %q, %d samples of %v, %d classes", gz, d.Name, d.Len(), d.SampleShape, d.NumClasses())
		}
		for i := range d.Len() {
			for j, v := range d.Sample(i) {
				if want := float32(byte(i+j)) / 255; v != want {
					t.Fatalf("gz=%v: sample %d pixel %d = %v, want %v", gz, i, j, v, want)
				}
			}
			if d.Y[i] != i%10 {
				t.Fatalf("gz=%v: label %d = %d, want %d", gz, i, d.Y[i], i%10)
			}
		}
	}
}

func TestLoadIDXGzipByContent(t *testing.T) {
	// Gzip is recognised by its magic bytes: a compressed file without .gz
	// and a plain one with .gz both load.
	dir := t.TempDir()
	images, labels := tinyMNIST(5, 2, 2, 3)
	writeFile(t, filepath.Join(dir, "x-labels-idx1-ubyte.gz"), labels)
	path := writeFile(t, filepath.Join(dir, "x-images-idx3-ubyte"), gzipBytes(t, images))
	d, err := LoadIDX(path)
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 5 || !slices.Equal(d.Classes, []string{"0", "1", "2"}) {
		t.Errorf("%d samples, classes %v", d.Len(), d.Classes)
	}
}

func TestLoadIDXErrors(t *testing.T) {
	t.Chdir(t.TempDir())
	images, labels := tinyMNIST(10, 4, 3, 10)
	fewer := idxBytes(0x801, []int{9}, make([]byte, 9))
	tests := []struct {
		name           string
		images, labels []byte
		want           string
	}{
		{"bad images magic", labels, labels,
			"a-images-idx3-ubyte: bad magic number 0x00000801, want 0x00000803 (IDX pixel file)"},
		{"bad labels magic", images, images,
			"a-labels-idx1-ubyte: bad magic number 0x00000803, want 0x00000801 (IDX label file)"},
		{"truncated pixels", images[:16+50], labels,
			"a-images-idx3-ubyte: truncated: expected 120 pixel bytes, got 50"},
		{"truncated header", images[:7], labels,
			"a-images-idx3-ubyte: truncated: expected 16 header bytes, got 7"},
		{"truncated labels", images, labels[:8+4],
			"a-labels-idx1-ubyte: truncated: expected 10 label bytes, got 4"},
		{"count mismatch", images, fewer,
			"a-labels-idx1-ubyte: 9 labels for the 10 images in a-images-idx3-ubyte"},
		{"empty", nil, labels,
			"a-images-idx3-ubyte: truncated: expected 16 header bytes, got 0"},
		{"size overflowing int64", idxBytes(0x803, []int{1<<32 - 1, 1<<32 - 1, 1<<32 - 1}, nil), labels,
			"a-images-idx3-ubyte: implausible size [4294967295 4294967295 4294967295] in the header"},
		{"zero-sized images", idxBytes(0x803, []int{10, 0, 3}, nil), labels,
			"a-images-idx3-ubyte: empty sample shape [10 0 3] in the header"},
		{"implausible size", idxBytes(0x803, []int{1 << 30, 1 << 10, 1 << 10}, nil), labels,
			"a-images-idx3-ubyte: implausible size [1073741824 1024 1024] in the header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			writeFile(t, "a-images-idx3-ubyte", tt.images)
			writeFile(t, "a-labels-idx1-ubyte", tt.labels)
			_, err := LoadIDX("a-images-idx3-ubyte")
			if err == nil || err.Error() != tt.want {
				t.Errorf("got %v\nwant %s", err, tt.want)
			}
		})
	}

	t.Run("truncated gzip", func(t *testing.T) {
		gz := gzipBytes(t, images)
		writeFile(t, "b-images-idx3-ubyte.gz", gz[:len(gz)-30])
		writeFile(t, "b-labels-idx1-ubyte.gz", gzipBytes(t, labels))
		_, err := LoadIDX("b-images-idx3-ubyte.gz")
		// The stream ends inside the deflate data; how many pixels came out
		// first depends on compress/flate's buffering, so only the prefix is fixed.
		if want := "b-images-idx3-ubyte.gz: truncated: expected "; err == nil || len(err.Error()) < len(want) || err.Error()[:len(want)] != want {
			t.Errorf("got %v, want %s...", err, want)
		}
	})
	t.Run("corrupt gzip", func(t *testing.T) {
		gz := gzipBytes(t, images)
		gz[len(gz)-5] ^= 0xff // the stored length, checked at the end
		writeFile(t, "c-images-idx3-ubyte.gz", gz)
		writeFile(t, "c-labels-idx1-ubyte.gz", gzipBytes(t, labels))
		if _, err := LoadIDX("c-images-idx3-ubyte.gz"); err == nil || err.Error() != "c-images-idx3-ubyte.gz: gzip: invalid checksum" {
			t.Errorf("got %v", err)
		}
	})
	t.Run("labels missing", func(t *testing.T) {
		writeFile(t, "d-images-idx3-ubyte.gz", gzipBytes(t, images))
		want := "d-images-idx3-ubyte.gz: labels file not found (looked for d-labels-idx1-ubyte.gz and d-labels-idx1-ubyte)"
		if _, err := LoadIDX("d-images-idx3-ubyte.gz"); err == nil || err.Error() != want {
			t.Errorf("got %v\nwant %s", err, want)
		}
	})
	t.Run("missing", func(t *testing.T) {
		if _, err := LoadIDX("e-images-idx3-ubyte"); err == nil || err.Error() != "e-images-idx3-ubyte: no such file" {
			t.Errorf("got %v", err)
		}
	})
}

func TestIDXName(t *testing.T) {
	for path, want := range map[string]string{
		"data/mnist/t10k-images-idx3-ubyte.gz":           "mnist-t10k",
		"/x/fashion-mnist/train-images-idx3-ubyte":       "fashion-mnist-train",
		"emnist-digits-train-images-idx3-ubyte.gz":       "emnist-digits-train",
		filepath.Join("q", "my-images-idx3-ubyte.v2.gz"): "my.v2",
	} {
		if got := idxName(path); got != want {
			t.Errorf("idxName(%q) = %q, want %q", path, got, want)
		}
	}
}

// mnistDir is the shared reference data, relative to this package.
const mnistDir = "../../shared/data/mnist"

func TestLoadMNISTT10k(t *testing.T) {
	path := filepath.Join(mnistDir, "t10k-images-idx3-ubyte.gz")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("reference MNIST data not available: %v", err)
	}
	d, err := Load(path, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if d.Name != "mnist-t10k" || d.Len() != 10000 || !slices.Equal(d.SampleShape, []int{28, 28, 1}) {
		t.Fatalf("%q: %d samples of %v", d.Name, d.Len(), d.SampleShape)
	}
	want := []int{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}
	if got := classCounts(d); !slices.Equal(got, want) {
		t.Errorf("class counts %v, want %v", got, want)
	}
	var peak float32
	for _, v := range d.X {
		peak = max(peak, v)
	}
	if lo, hi := slices.Min(d.X), peak; lo != 0 || hi != 1 {
		t.Errorf("pixels span [%v, %v], want [0, 1]", lo, hi)
	}
	if d.Y[0] != 7 { // the first test digit is a 7
		t.Errorf("first label %d, want 7", d.Y[0])
	}

	train, test := Split(d, 0.2, 1)
	if train.Len() != 8000 || test.Len() != 2000 {
		t.Errorf("80/20 split gives %d / %d", train.Len(), test.Len())
	}
}
