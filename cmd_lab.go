package main

import (
	"context"
	"fmt"
	"io"
)

func cmdLab(_ context.Context, _ []string, stdout, _ io.Writer) error {
	fmt.Fprint(stdout, usage)
	return nil
}
