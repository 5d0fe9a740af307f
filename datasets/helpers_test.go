package datasets

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/optlab/optlab/core"
)

// classCounts returns the number of samples of each class.
func classCounts(d *core.Dataset) []int {
	counts := make([]int, d.NumClasses())
	for _, y := range d.Y {
		if y >= 0 {
			counts[y]++
		}
	}
	return counts
}

// idxBytes encodes an IDX file of unsigned bytes with the given magic.
func idxBytes(magic uint32, dims []int, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, magic)
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(data)
	return b.Bytes()
}

func gzipBytes(t testing.TB, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func writeFile(t testing.TB, path string, data []byte) string {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// tinyMNIST returns n images of rows×cols pixels and their labels: pixel j of
// image i is (i+j) mod 256 and label i is i mod classes.
func tinyMNIST(n, rows, cols, classes int) (images, labels []byte) {
	pixels := make([]byte, n*rows*cols)
	for i := range n {
		for j := range rows * cols {
			pixels[i*rows*cols+j] = byte(i + j)
		}
	}
	lab := make([]byte, n)
	for i := range lab {
		lab[i] = byte(i % classes)
	}
	return idxBytes(0x803, []int{n, rows, cols}, pixels), idxBytes(0x801, []int{n}, lab)
}

// writeMNIST writes tinyMNIST files named prefix-{images,labels}-... in dir,
// gzipped or not, and returns the images path.
func writeMNIST(t testing.TB, dir, prefix string, gz bool, n int) string {
	t.Helper()
	images, labels := tinyMNIST(n, 4, 3, 10)
	ext := ""
	if gz {
		images, labels, ext = gzipBytes(t, images), gzipBytes(t, labels), ".gz"
	}
	writeFile(t, filepath.Join(dir, prefix+"-labels-idx1-ubyte"+ext), labels)
	return writeFile(t, filepath.Join(dir, prefix+"-images-idx3-ubyte"+ext), images)
}
