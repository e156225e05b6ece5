// The read-bandwidth probe (bench_machine.cc): one pass over p[0, n) with
// 8 independent vector add chains, so only the memory system limits it.
// The widest loads the CPU has: 512-bit where AVX-512 runs, else 256-bit,
// else what the compiler makes of a 16-accumulator loop at baseline.
#pragma once
#include <cstddef>

namespace nbb {

float read_probe(const float *p, size_t n);

// A thread's CPU time in seconds (the clock the 1-thread rows are timed in).
double thread_cpu_seconds();

}  // namespace nbb
