// Package datasets supplies the data optlab trains on: seeded generators for
// built-in sets, loaders for CSV and IDX (MNIST-format) files, a downloader
// for MNIST and Fashion-MNIST, and stratified splits.
//
// Everything returns core.Dataset. Conventions:
//   - Generators take a sample count, a noise level and a seed, and draw only
//     from a math/rand/v2 PCG seeded with it: the same arguments give the same
//     bytes on a given platform.
//   - Load resolves a --data argument (a built-in name, mnist or
//     fashion-mnist from the cache, a .csv file or an IDX images file).
//   - Errors are single lines naming the file, and where it applies the line
//     and column, without an "optlab:" prefix; the caller adds that.
//   - Split and TrainValTest are stratified by class and deterministic for a
//     seed. Feature standardization is fitted on the training part only
//     (Standardize), so held-out data never leaks into the statistics.
//
// The package keeps no mutable state, starts no goroutines and prints nothing;
// Fetch reports progress through a callback.
package datasets
