package datasets

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

// mirror serves tiny MNIST-format files and returns a Fetcher pointed at it
// with their checksums (md5 for images, sha256 for labels), and a count of
// requests served.
func mirror(t *testing.T, handler func(w http.ResponseWriter, r *http.Request, body []byte)) (*Fetcher, *atomic.Int32) {
	t.Helper()
	files := map[string][]byte{}
	var src Source
	for _, prefix := range []string{"train", "t10k"} {
		images, labels := tinyMNIST(30, 4, 3, 10)
		images, labels = gzipBytes(t, images), gzipBytes(t, labels)
		im, lb := md5.Sum(images), sha256.Sum256(labels)
		files[prefix+"-images-idx3-ubyte.gz"] = images
		files[prefix+"-labels-idx1-ubyte.gz"] = labels
		src.Files = append(src.Files,
			SourceFile{prefix + "-images-idx3-ubyte.gz", "md5:" + hex.EncodeToString(im[:])},
			SourceFile{prefix + "-labels-idx1-ubyte.gz", "sha256:" + hex.EncodeToString(lb[:])})
	}
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		body, ok := files[strings.TrimPrefix(r.URL.Path, "/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		handler(w, r, body)
	}))
	t.Cleanup(srv.Close)
	src.BaseURL = srv.URL + "/"
	return &Fetcher{Client: srv.Client(), Sources: map[string]Source{"mnist": src}}, &requests
}

func serve(w http.ResponseWriter, _ *http.Request, body []byte) {
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.Write(body)
}

// dirNames lists dir/mnist, hidden files included.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "mnist"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestFetch(t *testing.T) {
	f, requests := mirror(t, serve)
	dir := t.TempDir()
	last := map[string][2]int64{}
	err := f.Fetch(t.Context(), "mnist", dir, func(file string, done, total int64) {
		if p := last[file]; done < p[0] {
			t.Errorf("%s: progress went back from %d to %d", file, p[0], done)
		}
		last[file] = [2]int64{done, total}
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"}
	if got := dirNames(t, dir); !slices.Equal(got, want) {
		t.Errorf("files %v, want %v", got, want)
	}
	for _, name := range want {
		if p := last[name]; p[0] != p[1] || p[0] == 0 {
			t.Errorf("%s: last progress %d of %d", name, p[0], p[1])
		}
	}

	d, err := Load("mnist", LoadOptions{CacheDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "mnist" || d.Len() != 30 || !slices.Equal(d.SampleShape, []int{4, 3, 1}) {
		t.Errorf("loaded %q: %d samples of %v", d.Name, d.Len(), d.SampleShape)
	}

	// Verified files are kept: a second fetch downloads nothing.
	before := requests.Load()
	if err := f.Fetch(t.Context(), "mnist", dir, nil); err != nil {
		t.Fatal(err)
	}
	if n := requests.Load() - before; n != 0 {
		t.Errorf("second fetch made %d requests", n)
	}
}

func TestFetchChecksumMismatch(t *testing.T) {
	f, _ := mirror(t, serve)
	src := f.Sources["mnist"]
	src.Files = slices.Clone(src.Files)
	served := src.Files[0].Sum
	src.Files[0].Sum = "md5:" + strings.Repeat("0", 32)
	f.Sources["mnist"] = src
	dir := t.TempDir()
	err := f.Fetch(t.Context(), "mnist", dir, nil)
	want := fmt.Sprintf("fetch mnist: train-images-idx3-ubyte.gz: checksum mismatch: md5 is %s, want %s",
		strings.TrimPrefix(served, "md5:"), strings.Repeat("0", 32))
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("files left behind: %v", names)
	}
}

func TestFetchHTTPError(t *testing.T) {
	f, _ := mirror(t, serve)
	src := f.Sources["mnist"]
	src.Files = slices.Clone(src.Files)
	src.Files[1].Name = "missing.gz"
	f.Sources["mnist"] = src
	dir := t.TempDir()
	err := f.Fetch(t.Context(), "mnist", dir, nil)
	want := "fetch mnist: missing.gz: GET " + src.BaseURL + "missing.gz: 404 Not Found"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	// The file before the failure is complete and stays.
	if names := dirNames(t, dir); !slices.Equal(names, []string{"train-images-idx3-ubyte.gz"}) {
		t.Errorf("files %v", names)
	}
}

func TestFetchCancel(t *testing.T) {
	f, _ := mirror(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.Write(body[:len(body)/2])
		w.(http.Flusher).Flush()
		<-r.Context().Done() // the rest never comes
	})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	dir := t.TempDir()
	err := f.Fetch(ctx, "mnist", dir, func(string, int64, int64) { cancel() })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("files left behind: %v", names)
	}
}

func TestFetchUnknown(t *testing.T) {
	err := Fetch(t.Context(), "cifar", t.TempDir(), nil)
	if want := `cannot fetch "cifar" (fetchable: fashion-mnist, mnist)`; err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

func TestPublishedSources(t *testing.T) {
	if got := Fetchable(); !slices.Equal(got, []string{"fashion-mnist", "mnist"}) {
		t.Errorf("Fetchable() = %v", got)
	}
	for name, src := range published {
		if !strings.HasSuffix(src.BaseURL, "/") || !strings.HasPrefix(src.BaseURL, "http") {
			t.Errorf("%s: base URL %q", name, src.BaseURL)
		}
		var files []string
		for _, f := range src.Files {
			files = append(files, f.Name)
			if h, want, err := parseSum(f.Sum); err != nil || len(want) != 2*h.Size() {
				t.Errorf("%s/%s: checksum %q", name, f.Name, f.Sum)
			}
		}
		slices.Sort(files)
		if want := []string{"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", trainImages, "train-labels-idx1-ubyte.gz"}; !slices.Equal(files, want) {
			t.Errorf("%s: files %v", name, files)
		}
	}
}
