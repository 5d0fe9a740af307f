package datasets

import (
	"os"
	"path/filepath"
	"testing"
)

func BenchmarkDigits(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Digits(8000, 0.1, 1)
	}
}

func BenchmarkLoadIDX(b *testing.B) {
	path := filepath.Join(mnistDir, "t10k-images-idx3-ubyte.gz")
	if _, err := os.Stat(path); err != nil {
		b.Skipf("reference MNIST data not available: %v", err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := LoadIDX(path); err != nil {
			b.Fatal(err)
		}
	}
}
