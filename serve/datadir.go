package serve

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/optlab/optlab/datasets"
	"github.com/optlab/optlab/lab"
)

// dataDir confines the files remote users may open to one directory. Named
// datasets (the built-in generators, and mnist or fashion-mnist from the
// server's cache) are always allowed; anything else is a path, allowed only
// when it resolves, symlinks followed, to a file inside the directory.
type dataDir struct {
	given string // the directory as configured, made absolute; "" for none
	root  string // the same with symlinks resolved
}

// newDataDir checks dir; "" means no files at all.
func newDataDir(dir string) (*dataDir, error) {
	if dir == "" {
		return &dataDir{}, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("--data-dir %s: %w", dir, err)
	}
	root, err := filepath.EvalSymlinks(abs)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("--data-dir %s: no such directory", dir)
		}
		return nil, fmt.Errorf("--data-dir %s: %w", dir, err)
	}
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("--data-dir %s: not a directory", dir)
	}
	return &dataDir{given: abs, root: root}, nil
}

// named reports whether spec names a dataset rather than a file.
func named(spec string) bool {
	for _, b := range datasets.Builtins() {
		if b.Name == spec {
			return true
		}
	}
	return slices.Contains(datasets.Fetchable(), spec)
}

// builtinNames lists the names a remote user can always use.
func builtinNames() string {
	var names []string
	for _, b := range datasets.Builtins() {
		names = append(names, b.Name)
	}
	return strings.Join(append(names, datasets.Fetchable()...), ", ")
}

// Resolve turns a dataset a remote user asked for into the spec the lab
// opens: a name unchanged, a path (relative to the data directory, or
// absolute) to the absolute path of the file it resolves to. Paths outside
// the directory, by "..", by an absolute path or through a symlink, are
// refused with a one-line error that does not say whether they exist.
func (d *dataDir) Resolve(spec string) (string, error) {
	if spec == "" {
		return datasets.Default, nil
	}
	if named(spec) {
		return spec, nil
	}
	p := spec
	if d.root != "" && !filepath.IsAbs(p) {
		p = filepath.Join(d.root, p)
	}
	return d.confine(spec, p)
}

// ResolveFile is Resolve for a file that is not a dataset (a search space
// file the TUI reads): a path relative to the data directory, or absolute,
// always confined to it.
func (d *dataDir) ResolveFile(path string) (string, error) {
	if d.root == "" {
		return "", fmt.Errorf("%q: this server opens no files (it was started without --data-dir)", path)
	}
	p := path
	if !filepath.IsAbs(p) {
		p = filepath.Join(d.root, p)
	}
	if p = filepath.Clean(p); !within(d.root, p) && !within(d.given, p) {
		return "", fmt.Errorf("%q is outside the data directory; use a file in it (a relative path)", path)
	}
	return d.confine(path, p)
}

// Check vets a dataset spec as the lab will open it, relative paths being
// relative to the server's working directory; it returns the same errors as
// Resolve.
func (d *dataDir) Check(spec string) error {
	if spec == "" || named(spec) {
		return nil
	}
	p, err := filepath.Abs(spec)
	if err != nil {
		return fmt.Errorf("%q: %w", spec, err)
	}
	_, err = d.confine(spec, p)
	return err
}

// confine resolves the absolute path p (what the user wrote as spec) and
// checks it lies inside the directory.
func (d *dataDir) confine(spec, p string) (string, error) {
	if d.root == "" {
		return "", fmt.Errorf("%q: this server opens no files (it was started without --data-dir); use a built-in dataset: %s",
			spec, builtinNames())
	}
	p = filepath.Clean(p)
	// Refuse what lies outside by its name alone, before touching the file
	// system, so that the answer tells nothing about files out there.
	if !within(d.root, p) && !within(d.given, p) {
		return "", fmt.Errorf("%q is outside the data directory; use a file in it (a relative path) or a built-in dataset: %s",
			spec, builtinNames())
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("%q: no such file in the data directory", spec)
		}
		return "", fmt.Errorf("%q: cannot be opened", spec)
	}
	if !within(d.root, real) {
		return "", fmt.Errorf("%q links to a file outside the data directory: refused", spec)
	}
	// An IDX images file is read with the labels file beside it: that must
	// stay inside too.
	for _, lp := range datasets.LabelsFiles(real) {
		if lr, err := filepath.EvalSymlinks(lp); err == nil && !within(d.root, lr) {
			return "", fmt.Errorf("%q: its labels file links outside the data directory: refused", spec)
		}
	}
	return real, nil
}

// within reports whether p is root or lies under it; both are clean and
// absolute.
func within(root, p string) bool {
	if root == "" {
		return false
	}
	rel, err := filepath.Rel(root, p)
	if err != nil || filepath.IsAbs(rel) {
		return false
	}
	return rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// CheckConfig vets the files a job's config names, however deeply nested,
// so that no job touches a file outside the data directory whichever screen
// started it:
//   - the Name of every lab.DataSpec, and every string field named like a
//     file read (ModelFile, Teacher, ...File, ...Path), must resolve inside
//     the data directory;
//   - string fields naming a file or directory to write (Out, OutDir,
//     ...Dir) must be empty: over SSH, models stay in the session's lab.
//
// The field names are those of lab's specs; a spec adding a path field
// should follow them (or this list should learn the new name).
func (d *dataDir) CheckConfig(config any) error {
	var err error
	walkConfig(reflect.ValueOf(config), "", 0, func(field string, v reflect.Value) {
		if err != nil {
			return
		}
		if v.Type() == dataSpecType {
			err = d.Check(v.FieldByName("Name").String())
			return
		}
		val := v.String()
		if val == "" {
			return
		}
		switch {
		case field == "Out" || strings.HasPrefix(field, "Out") || strings.HasSuffix(field, "Dir"):
			err = fmt.Errorf("%s %q: files cannot be written over SSH; results stay in your session", field, val)
		case field == "Teacher" || strings.HasSuffix(field, "File") || strings.HasSuffix(field, "Path"):
			err = d.Check(val)
		}
	})
	return err
}

var dataSpecType = reflect.TypeFor[lab.DataSpec]()

// holdsSpec caches mayHoldPaths by type.
var holdsSpec sync.Map // reflect.Type → bool

// mayHoldPaths reports whether a value of type t can contain a
// lab.DataSpec or a string field; interfaces may hold anything.
func mayHoldPaths(t reflect.Type) bool {
	if v, ok := holdsSpec.Load(t); ok {
		return v.(bool)
	}
	holdsSpec.Store(t, true) // while t is being looked at: cuts cycles, erring on the safe side
	var yes bool
	switch t.Kind() {
	case reflect.Interface:
		yes = true
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		yes = mayHoldPaths(t.Elem())
	case reflect.Struct:
		for i := 0; i < t.NumField() && !yes; i++ {
			f := t.Field(i)
			yes = f.Type.Kind() == reflect.String || mayHoldPaths(f.Type)
		}
	}
	holdsSpec.Store(t, yes)
	return yes
}

// walkConfig calls f with each lab.DataSpec and each string struct field
// (with its field name) reachable from v through structs (unexported fields
// included), pointers, interfaces, slices, arrays and maps.
func walkConfig(v reflect.Value, field string, depth int, f func(field string, v reflect.Value)) {
	if !v.IsValid() || depth > 16 {
		return
	}
	if v.Type() == dataSpecType {
		f(field, v)
		return
	}
	if v.Kind() == reflect.String {
		if field != "" {
			f(field, v)
		}
		return
	}
	if !mayHoldPaths(v.Type()) {
		return // e.g. a model's weights: nothing to look at
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkConfig(v.Elem(), field, depth+1, f)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			walkConfig(v.Field(i), v.Type().Field(i).Name, depth+1, f)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			walkConfig(v.Index(i), field, depth+1, f)
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			walkConfig(it.Value(), field, depth+1, f)
		}
	}
}
