package tui

// vetExport asks Options.Export about path; without a policy every path is
// allowed as it is.
func (c *common) vetExport(path string) (string, error) {
	if c.export == nil {
		return path, nil
	}
	return c.export(path)
}
