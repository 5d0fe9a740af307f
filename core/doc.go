// Package core implements small neural networks on the CPU in float32 and the
// model-optimization techniques the lab exercises.
//
// Conventions:
//   - A Tensor is a shape and a row-major []float32. Rows of a batch are examples.
//   - Every matrix product goes through one GEMM entry point (gemm in gemm.go),
//     so a faster kernel can replace it in one place.
//   - Shape mismatches are programmer errors; they panic with a "core: " prefix.
//     Conditions that depend on data or on the caller (a NaN loss, a cancelled
//     context, a bad spec string) are returned as errors.
//   - A zero field in a config struct means "use the documented default".
//   - Randomness comes only from seeded math/rand/v2 sources passed down, so the
//     same seed gives bit-identical weights and results.
//   - Techniques are pure transformations: they return new models and never
//     modify their input in place.
//
// The package prints nothing and knows nothing of the UI. Its only goroutine
// is gemm's helper on large products, joined before gemm returns;
// it reports progress through a Recorder callback and stops on a context.
package core
