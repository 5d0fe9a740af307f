package datasets

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestLoadBuiltin(t *testing.T) {
	d, err := Load("moons", LoadOptions{Samples: 50, Noise: 0.3, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	if want := Moons(50, 0.3, 2); !slices.Equal(d.X, want.X) || !slices.Equal(d.Y, want.Y) {
		t.Error("Load(moons, options) differs from Moons(50, 0.3, 2)")
	}
	d, err = Load("spiral", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := Spiral(1000, 0.2, 0); !slices.Equal(d.X, want.X) {
		t.Error("Load(spiral) does not use the defaults 1000 samples, noise 0.2")
	}
}

func TestLoadFiles(t *testing.T) {
	t.Chdir(t.TempDir())
	var csv []byte
	for i := range 100 {
		csv = append(csv, []byte(string(rune('a'+i%2))+","+string(rune('0'+i%10))+"\n")...)
	}
	writeFile(t, "data.csv", csv)
	d, err := Load("data.csv", LoadOptions{Label: "0", Samples: 10, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 10 || !slices.Equal(classCounts(d), []int{5, 5}) || !slices.Equal(d.Classes, []string{"a", "b"}) {
		t.Errorf("%d samples, classes %v %v", d.Len(), d.Classes, classCounts(d))
	}

	// Without a .csv extension, content decides.
	writeFile(t, "data.txt", []byte("1,x\n2,y\n"))
	if d, err := Load("data.txt", LoadOptions{}); err != nil || d.Name != "data" || d.Len() != 2 {
		t.Errorf("data.txt: %v", err)
	}
	os.Mkdir("mnist", 0o755)
	path := writeMNIST(t, "mnist", "t10k", true, 20)
	if d, err := Load(path, LoadOptions{}); err != nil || d.Name != "mnist-t10k" || d.Len() != 20 {
		t.Errorf("%s: %v", path, err)
	}
	// An IDX file under another name is recognised by content, but its
	// labels cannot be found without the standard name.
	data, _ := os.ReadFile(path)
	writeFile(t, "digits.bin", data)
	want := `digits.bin: cannot find its labels file: the name does not contain "-images-idx3-ubyte"`
	if _, err := Load("digits.bin", LoadOptions{}); err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

func TestLoadErrors(t *testing.T) {
	t.Chdir(t.TempDir())
	writeMNIST(t, ".", "x", false, 5)
	os.Mkdir("sub", 0o755)
	tests := []struct {
		spec string
		opt  LoadOptions
		want string
	}{
		{"foo", LoadOptions{}, `unknown dataset "foo" (built-in: digits, spiral, circles, xor, gauss, moons, blobs; ` +
			`to fetch: fashion-mnist, mnist; or a .csv or IDX file)`},
		{"data.csv", LoadOptions{}, "data.csv: no such file"},
		{"sub/x-images-idx3-ubyte.gz", LoadOptions{}, "sub/x-images-idx3-ubyte.gz: no such file"},
		{"sub", LoadOptions{}, "sub: is a directory, not a .csv or IDX file"},
		{"digits", LoadOptions{Label: "y"}, "digits: a label column applies only to CSV files"},
		{"x-images-idx3-ubyte", LoadOptions{Label: "y"}, "x-images-idx3-ubyte: a label column applies only to CSV files"},
		{"mnist", LoadOptions{CacheDir: "cache"}, `mnist is not downloaded: run "optlab fetch mnist" (it stores it in ` +
			filepath.Join("cache", "mnist") + ")"},
	}
	for _, tt := range tests {
		if _, err := Load(tt.spec, tt.opt); err == nil || err.Error() != tt.want {
			t.Errorf("Load(%q): got %v\nwant %s", tt.spec, err, tt.want)
		}
	}
}

func TestCacheDir(t *testing.T) {
	t.Setenv("OPTLAB_DATA", "/data/optlab")
	if dir, err := CacheDir(); err != nil || dir != "/data/optlab" {
		t.Errorf("with OPTLAB_DATA: %q, %v", dir, err)
	}
	t.Setenv("OPTLAB_DATA", "")
	t.Setenv("XDG_CACHE_HOME", "/xdg")
	t.Setenv("HOME", "/home/u")
	base, err := os.UserCacheDir()
	if err != nil {
		t.Skip("no user cache directory on this system")
	}
	if dir, err := CacheDir(); err != nil || dir != filepath.Join(base, "optlab") {
		t.Errorf("default: %q, %v", dir, err)
	}
}
