package tui

import (
	"os"
	"path/filepath"
	"strings"
)

// vetExport asks Options.Export about path; without a policy every path is
// allowed as it is.
func (c *common) vetExport(path string) (string, error) {
	if c.export == nil {
		return path, nil
	}
	return c.export(path)
}

// vetOpen asks Options.Open about path; without a policy every path is
// allowed as it is.
func (c *common) vetOpen(path string) (string, error) {
	if c.open == nil {
		return path, nil
	}
	return c.open(path)
}

// homePath expands a leading ~/ in a path the user typed to the home
// directory.
func homePath(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	return p
}
