package datasets

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/optlab/optlab/core"
)

// Source is where a dataset is published: a base URL (ending in "/") and
// the files under it with their checksums.
type Source struct {
	BaseURL string
	Files   []SourceFile
}

// SourceFile is one published file and its checksum, written "md5:HEX" or
// "sha256:HEX".
type SourceFile struct {
	Name string
	Sum  string
}

// trainImages is the file Load reads for a fetched dataset.
const trainImages = "train-images-idx3-ubyte.gz"

// published lists the datasets Fetch downloads, with the mirrors and md5
// sums torchvision uses (torchvision/datasets/mnist.py). The sums are of the
// .gz files as those mirrors serve them; other mirrors compress differently.
var published = map[string]Source{
	"mnist": {BaseURL: "https://ossci-datasets.s3.amazonaws.com/mnist/", Files: []SourceFile{
		{trainImages, "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873"},
		{"train-labels-idx1-ubyte.gz", "md5:d53e105ee54ea40749a09fcbcd1e9432"},
		{"t10k-images-idx3-ubyte.gz", "md5:9fb629c4189551a2d022fa330f9573f3"},
		{"t10k-labels-idx1-ubyte.gz", "md5:ec29112dd5afa0611ce80d1b7f02629c"},
	}},
	"fashion-mnist": {BaseURL: "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", Files: []SourceFile{
		{trainImages, "md5:8d4fb7e6c68d591d4c3dfef9ec88bf0d"},
		{"train-labels-idx1-ubyte.gz", "md5:25c81989df183df01b3e8a0aad5dffbe"},
		{"t10k-images-idx3-ubyte.gz", "md5:bef4ecab320f06d8554ea6380940ec79"},
		{"t10k-labels-idx1-ubyte.gz", "md5:bb300cfdad3c16e7a12a480ee83cd310"},
	}},
}

// Fetchable returns the names Fetch downloads, sorted.
func Fetchable() []string { return slices.Sorted(maps.Keys(published)) }

// Fetch downloads dataset name (mnist or fashion-mnist) into dir/name, dir
// being CacheDir() when empty, with the published sources and
// http.DefaultClient. See Fetcher.Fetch.
func Fetch(ctx context.Context, name, dir string, progress func(file string, done, total int64)) error {
	return (&Fetcher{}).Fetch(ctx, name, dir, progress)
}

// Fetcher downloads datasets. The zero value uses the published sources and
// http.DefaultClient.
type Fetcher struct {
	Client  *http.Client      // nil: http.DefaultClient
	Sources map[string]Source // by dataset name; nil: the published ones
}

// Fetch downloads each of the dataset's files into dir/name (dir being
// CacheDir() when empty) and verifies its checksum. A file already there
// with the right checksum is kept. Each download goes to a hidden temporary
// file in the same directory and is renamed into place only once verified,
// so a failed or cancelled fetch never leaves a partial file under a final
// name. progress, if not nil, is called on the calling goroutine as data
// arrives; total is -1 when the server does not say.
func (f *Fetcher) Fetch(ctx context.Context, name, dir string, progress func(file string, done, total int64)) error {
	sources := f.Sources
	if sources == nil {
		sources = published
	}
	src, ok := sources[name]
	if !ok {
		return fmt.Errorf("cannot fetch %q (fetchable: %s)", name, strings.Join(slices.Sorted(maps.Keys(sources)), ", "))
	}
	if progress == nil {
		progress = func(string, int64, int64) {}
	}
	if dir == "" {
		var err error
		if dir, err = CacheDir(); err != nil {
			return err
		}
	}
	dir = filepath.Join(dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("fetch %s: %w", name, err)
	}
	for _, file := range src.Files {
		dst := filepath.Join(dir, file.Name)
		if size, ok := hasSum(dst, file.Sum); ok {
			progress(file.Name, size, size)
			continue
		}
		if err := f.download(ctx, src.BaseURL+file.Name, dst, file, progress); err != nil {
			return fmt.Errorf("fetch %s: %s: %w", name, file.Name, err)
		}
	}
	return nil
}

// download fetches url into dst through a temporary file, checking file.Sum.
func (f *Fetcher) download(ctx context.Context, url, dst string, file SourceFile, progress func(string, int64, int64)) (err error) {
	h, want, err := parseSum(file.Sum)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	client := f.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return ctxOr(ctx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}

	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+file.Name+".*.part")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	w := io.MultiWriter(tmp, h)
	buf := make([]byte, 64<<10)
	var done int64
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return err
			}
			done += int64(n)
			progress(file.Name, done, resp.ContentLength)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return ctxOr(ctx, rerr)
		}
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("checksum mismatch: %s is %s, want %s", strings.SplitN(file.Sum, ":", 2)[0], got, want)
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

// ctxOr returns the context's error when it has ended, since the transport's
// own message for a cancelled request is less clear.
func ctxOr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// parseSum splits "algo:hex" into a fresh hash and the expected digest.
func parseSum(sum string) (hash.Hash, string, error) {
	algo, want, _ := strings.Cut(sum, ":")
	want = strings.ToLower(want)
	switch algo {
	case "md5":
		return md5.New(), want, nil
	case "sha256":
		return sha256.New(), want, nil
	}
	return nil, "", fmt.Errorf("unsupported checksum %q (want md5:HEX or sha256:HEX)", sum)
}

// hasSum reports whether path exists with checksum sum, and its size.
func hasSum(path, sum string) (int64, bool) {
	h, want, err := parseSum(sum)
	if err != nil {
		return 0, false
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	n, err := io.Copy(h, f)
	return n, err == nil && hex.EncodeToString(h.Sum(nil)) == want
}

// loadCached loads the training set of a fetched dataset.
func loadCached(name, dir string) (*core.Dataset, error) {
	if dir == "" {
		var err error
		if dir, err = CacheDir(); err != nil {
			return nil, err
		}
	}
	path := filepath.Join(dir, name, trainImages)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s is not downloaded: run \"optlab fetch %s\" (it stores it in %s)", name, name, filepath.Dir(path))
	}
	d, err := LoadIDX(path)
	if err != nil {
		return nil, err
	}
	d.Name = name
	return d, nil
}
