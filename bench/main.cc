// nabla microbenchmarks: one program, every family, so ratios (nabla vs the
// reference, vs OpenBLAS, vs the machine's FMA peak and memory bandwidth)
// are measured side by side in one run.
//
// Naming (scripts/bench_report.py relies on it):  <family>/<impl>/<shape>
//   family: machine, sgemm, conv2d, reduce, copy, unary, ...
//   impl:   nabla (active ISA), ref, openblas, libm, memcpy, peak, ...
// Rates: counters["FLOPS"] (flop/s, kIsRate) for compute-bound kernels,
// SetBytesProcessed() for memory-bound ones.
#include <benchmark/benchmark.h>

BENCHMARK_MAIN();
