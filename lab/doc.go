// Package lab runs experiments as concurrent jobs and keeps their results.
//
// A Lab runs each job as a run with a RunID (1, 2, 3, ..., never reused) on
// a bounded pool of workers, gives it a context that Cancel, CancelAll and
// Shutdown cancel, and reports what happens on one event stream, Events. The
// results of finished runs stay in a registry (Result, Results, Baseline) as
// immutable snapshots, for comparison and export. Jobs are usually built from
// plain-data specs (TrainSpec, EvalSpec) with their Job method; such jobs
// share the Lab's cache of loaded and split datasets (see Lab.Data), so
// several runs on the same data load it once.
//
// # Delivery guarantees
//
// Every run produces, in this order: Started (once it has a worker slot),
// then any number of Progress events, then exactly one Finished or Failed. A
// run cancelled while still waiting for a slot produces only Failed. Events of
// different runs interleave freely.
//
// Started, Finished and Failed are always delivered: a run waits for room in
// the stream to send them. The only exception is Shutdown: once its timeout
// has passed, runs still waiting are released and those events are dropped.
//
// Progress is lossy and throttled where it is produced: at most one Progress
// per run per Options.ProgressEvery (50 ms by default), sent without waiting.
// When the stream is full the Progress is dropped and a later one supersedes
// it, so a slow or absent reader never slows training. Finished carries the
// whole result, including the per-epoch history, so a dropped Progress loses
// nothing that matters.
//
// Failed carries the error: context.Canceled (or the parent context's error)
// when the run was cancelled, and "internal error: ..." when the job
// panicked; a panicking job never takes down the process. A job that returns
// a result and no error has finished, even if it was cancelled meanwhile.
//
// Shutdown cancels all runs, waits for them, then closes the stream; after it
// returns, no goroutine of the Lab is left (provided jobs honour their
// contexts) and Start does nothing.
//
// The package never prints and knows nothing of terminals.
package lab
