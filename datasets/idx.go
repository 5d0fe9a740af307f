package datasets

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/optlab/optlab/core"
)

// IDX file names as MNIST publishes them: NAME-images-idx3-ubyte[.gz] and
// NAME-labels-idx1-ubyte[.gz].
const (
	imagesSuffix = "-images-idx3-ubyte"
	labelsSuffix = "-labels-idx1-ubyte"
)

// maxIDXBytes bounds the payload a header may announce, so a corrupt header
// cannot make us allocate without limit.
const maxIDXBytes = 1 << 32

// fashionClasses are Fashion-MNIST's class names, by label.
var fashionClasses = []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
	"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}

// LoadIDX loads an MNIST-format image set: path is an images file
// (NAME-images-idx3-ubyte, optionally gzip-compressed, which is recognised by
// its content) and its labels are read from NAME-labels-idx1-ubyte[.gz] in
// the same directory. Pixels are scaled to [0, 1]; SampleShape is
// [rows cols 1]; classes are "0" up to the largest label (Fashion-MNIST's
// names when the dataset's name starts with fashion-mnist).
//
// The dataset is named after the file with the suffix removed; MNIST's own
// "train" and "t10k" are prefixed with the directory's name, so
// mnist/t10k-images-idx3-ubyte.gz gives "mnist-t10k".
func LoadIDX(path string) (*core.Dataset, error) {
	shape, pixels, err := readIDX(path, 3, "pixel")
	if err != nil {
		return nil, err
	}
	lpath, err := labelsPath(path)
	if err != nil {
		return nil, err
	}
	lshape, labels, err := readIDX(lpath, 1, "label")
	if err != nil {
		return nil, err
	}
	if lshape[0] != shape[0] {
		return nil, fmt.Errorf("%s: %d labels for the %d images in %s", lpath, lshape[0], shape[0], path)
	}

	var scale [256]float32
	for i := range scale {
		scale[i] = float32(i) / 255
	}
	d := &core.Dataset{Name: idxName(path), X: make([]float32, len(pixels)), Y: make([]int, len(labels)),
		SampleShape: []int{shape[1], shape[2], 1}}
	for i, b := range pixels {
		d.X[i] = scale[b]
	}
	top := 1 // at least two classes
	for i, b := range labels {
		d.Y[i] = int(b)
		top = max(top, int(b))
	}
	d.Classes = classNames(top + 1)
	if strings.HasPrefix(d.Name, "fashion-mnist") && top < len(fashionClasses) {
		d.Classes = slices.Clone(fashionClasses[:top+1])
	}
	return d, nil
}

// readIDX reads an IDX file of unsigned bytes with dims dimensions, gzipped
// or not, and returns its shape and data. what names the data in errors
// ("pixel", "label").
func readIDX(path string, dims int, what string) ([]int, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fileError(path, err)
	}
	defer f.Close()
	r, err := idxReader(f)
	if err != nil {
		return nil, nil, readError(path, err, "a gzip header")
	}

	header := make([]byte, 4+4*dims)
	if n, err := io.ReadFull(r, header); err != nil {
		return nil, nil, readError(path, err, fmt.Sprintf("%d header bytes, got %d", len(header), n))
	}
	want := uint32(0x0800 | dims) // zero, zero, type 8 (unsigned byte), dimensions
	if got := binary.BigEndian.Uint32(header); got != want {
		return nil, nil, fmt.Errorf("%s: bad magic number 0x%08x, want 0x%08x (IDX %s file)", path, got, want, what)
	}
	shape := make([]int, dims)
	for i := range shape {
		shape[i] = int(binary.BigEndian.Uint32(header[4+4*i:]))
	}
	total := int64(1)
	for i, n := range shape {
		if n == 0 && i > 0 {
			return nil, nil, fmt.Errorf("%s: empty sample shape %v in the header", path, shape)
		}
		if total > 0 && int64(n) > maxIDXBytes/total { // checked before multiplying, which could overflow
			return nil, nil, fmt.Errorf("%s: implausible size %v in the header", path, shape)
		}
		total *= int64(n)
	}

	var buf bytes.Buffer
	buf.Grow(int(min(total, 1<<28)))
	if n, err := io.CopyN(&buf, r, total); err != nil {
		return nil, nil, readError(path, err, fmt.Sprintf("%d %s bytes, got %d", total, what, n))
	}
	// Reading on to the end makes gzip check its CRC; trailing bytes after
	// the data are tolerated.
	if _, err := io.Copy(io.Discard, r); err != nil {
		return nil, nil, readError(path, err, "the gzip trailer")
	}
	return shape, buf.Bytes(), nil
}

// idxReader returns r's content, decompressed if it starts with gzip's magic
// bytes.
func idxReader(f io.Reader) (io.Reader, error) {
	br := bufio.NewReader(f)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		return gzip.NewReader(br)
	}
	return br, nil
}

// readError reports a short read as truncation, saying what was expected,
// and anything else (corrupt gzip data) as it is.
func readError(path string, err error, expected string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%s: truncated: expected %s", path, expected)
	}
	return fmt.Errorf("%s: %w", path, err)
}

// isIDX reports whether path's content starts like a gzip or an IDX images
// file.
func isIDX(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [4]byte
	if _, err := io.ReadFull(f, b[:]); err != nil {
		return false
	}
	return b[0] == 0x1f && b[1] == 0x8b || b == [4]byte{0, 0, 8, 3}
}

// labelsPath finds the labels file beside an images file, preferring the
// same compression.
func labelsPath(images string) (string, error) {
	candidates := LabelsFiles(images)
	if candidates == nil {
		return "", fmt.Errorf("%s: cannot find its labels file: the name does not contain %q", images, imagesSuffix)
	}
	for _, c := range candidates {
		if _, err := os.Stat(c); err == nil {
			return c, nil
		}
	}
	return "", fmt.Errorf("%s: labels file not found (looked for %s and %s)", images, candidates[0], candidates[1])
}

// LabelsFiles lists the labels files LoadIDX may read with the images file
// images, in the order it tries them (the same compression first), or nil
// when images is not named like an IDX images file.
func LabelsFiles(images string) []string {
	dir, base := filepath.Split(images)
	stem := strings.TrimSuffix(base, ".gz")
	i := strings.LastIndex(stem, imagesSuffix)
	if i < 0 {
		return nil
	}
	plain := filepath.Join(dir, stem[:i]+labelsSuffix+stem[i+len(imagesSuffix):])
	if strings.HasSuffix(base, ".gz") {
		return []string{plain + ".gz", plain}
	}
	return []string{plain, plain + ".gz"}
}

// idxName derives a dataset name from an images file's path.
func idxName(path string) string {
	stem := strings.TrimSuffix(filepath.Base(path), ".gz")
	if i := strings.LastIndex(stem, imagesSuffix); i >= 0 {
		stem = stem[:i] + stem[i+len(imagesSuffix):]
	}
	if stem == "train" || stem == "t10k" {
		dir := filepath.Dir(path)
		if abs, err := filepath.Abs(dir); err == nil {
			dir = abs
		}
		if parent := filepath.Base(dir); parent != "." && parent != string(filepath.Separator) {
			return parent + "-" + stem
		}
	}
	return stem
}
