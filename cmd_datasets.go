package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/optlab/optlab/datasets"
)

func cmdDatasets(args []string, stdout, _ io.Writer) error {
	fs := flag.NewFlagSet("datasets", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print one JSON object per dataset")
	if err := parseFlags(fs, args, stdout, "optlab datasets: list the built-in datasets"); err != nil {
		return err
	}
	infos := datasets.Builtins()
	if *asJSON {
		for _, d := range infos {
			b, _ := json.Marshal(map[string]any{"type": "dataset", "name": d.Name, "shape": d.SampleShape,
				"classes": d.Classes, "samples": d.Samples, "description": d.Description})
			fmt.Fprintln(stdout, string(b))
		}
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSHAPE\tCLASSES\tSAMPLES\tDESCRIPTION")
	for _, d := range infos {
		shape := strings.Trim(strings.ReplaceAll(fmt.Sprint(d.SampleShape), " ", "x"), "[]")
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", d.Name, shape, d.Classes, d.Samples, d.Description)
	}
	fmt.Fprintf(tw, "\nAlso: %s (after 'optlab fetch NAME'), a .csv file, or an IDX images file.\n",
		strings.Join(datasets.Fetchable(), ", "))
	return tw.Flush()
}

func cmdFetch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fetch", flag.ContinueOnError)
	dir := fs.String("dir", "", "cache directory (default $OPTLAB_DATA, else the user cache directory)")
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		args = append(args[1:], args[0]) // allow 'fetch NAME --dir D'
	}
	summary := "optlab fetch NAME: download a dataset (" + strings.Join(datasets.Fetchable(), ", ") + ") and verify its checksums"
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return parseFlags(fs, args, stdout, summary)
	}
	if fs.NArg() != 1 {
		return badInput("fetch: name one dataset (%s)", strings.Join(datasets.Fetchable(), ", "))
	}
	name := fs.Arg(0)
	known := false
	for _, n := range datasets.Fetchable() {
		known = known || n == name
	}
	if !known {
		return badInput("fetch: unknown dataset %q (want %s)", name, strings.Join(datasets.Fetchable(), ", "))
	}
	rep := newReporter(stderr, false)
	err := datasets.Fetch(ctx, name, *dir, func(file string, done, total int64) {
		if rep.terminal && total > 0 {
			const width = 30
			n := int(width * done / total)
			fmt.Fprintf(stderr, "\r%-28s [%s%s] %3d%%", file, strings.Repeat("█", n), strings.Repeat("░", width-n), 100*done/total)
			rep.barShown = true
		}
	})
	rep.clearBar()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s is ready\n", name)
	return nil
}
