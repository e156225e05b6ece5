// The machine's own limits, measured in the same run as the kernels:
// FMA peak (flop/s, one core) and memory bandwidth (memcpy, plain read).
#include "bench_util.h"

#include <benchmark/benchmark.h>

#if defined(__x86_64__)
double nbb_fma_peak_avx2(int64_t iters);
double nbb_fma_peak_avx512(int64_t iters);
float nbb_read_avx2(const float *p, size_t n);
#endif

static void machine_peak_fma(benchmark::State &state) {
#if defined(__x86_64__)
    if (!(nb_cpu_features() & NB_CPU_AVX2) || !(nb_cpu_features() & NB_CPU_FMA)) {
        state.SkipWithError("no AVX2+FMA");
        return;
    }
    const int64_t iters = 1 << 20;
    for (auto _ : state) benchmark::DoNotOptimize(nbb_fma_peak_avx2(iters));
    // 12 chains x 8 lanes x 2 flops per iteration
    state.counters["FLOPS"] = benchmark::Counter(double(iters) * 12 * 8 * 2 * double(state.iterations()),
                                                 benchmark::Counter::kIsRate);
#else
    state.SkipWithError("no peak kernel for this architecture");
#endif
}
BENCHMARK(machine_peak_fma)->Name("machine/peak/fma")->Unit(benchmark::kMillisecond);

// The 512-bit peak, where nabla's AVX-512 kernels can run (the peak its
// flop rates are then measured against).
static void machine_peak_fma512(benchmark::State &state) {
#if defined(__x86_64__)
    if (!nb_isa_supported(NB_ISA_AVX512)) {
        state.SkipWithError("no AVX-512 (x86-64-v4)");
        return;
    }
    const int64_t iters = 1 << 20;
    for (auto _ : state) benchmark::DoNotOptimize(nbb_fma_peak_avx512(iters));
    // 24 chains x 16 lanes x 2 flops per iteration
    state.counters["FLOPS"] = benchmark::Counter(double(iters) * 24 * 16 * 2 * double(state.iterations()),
                                                 benchmark::Counter::kIsRate);
#else
    state.SkipWithError("no peak kernel for this architecture");
#endif
}
BENCHMARK(machine_peak_fma512)->Name("machine/peak/fma512")->Unit(benchmark::kMillisecond);

// 64 MiB: far beyond the last-level cache, so this is DRAM bandwidth.
static constexpr size_t kBig = size_t(16) << 20;

static void machine_memcpy(benchmark::State &state) {
    nbb::Buffer src(kBig), dst(kBig);
    for (auto _ : state) {
        std::memcpy(dst.p, src.p, kBig * sizeof(float));
        benchmark::ClobberMemory();
    }
    // bytes read (the copy also writes as many)
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(kBig * sizeof(float)));
}
BENCHMARK(machine_memcpy)->Name("machine/memcpy/64MiB")->Unit(benchmark::kMillisecond);

// Read bandwidth of one core: a sum over 64 MiB with 8 independent vector
// chains (AVX2 where the CPU has it, else whatever the compiler makes of a
// 16-accumulator loop at baseline), so only the memory system limits it.
static void machine_read(benchmark::State &state) {
    nbb::Buffer src(kBig);
#if defined(__x86_64__)
    const bool avx2 = (nb_cpu_features() & NB_CPU_AVX2) != 0;
#else
    const bool avx2 = false;
#endif
    for (auto _ : state) {
#if defined(__x86_64__)
        if (avx2) {
            benchmark::DoNotOptimize(nbb_read_avx2(src.p, kBig));
            continue;
        }
#endif
        float acc[16] = {0};
        for (size_t i = 0; i < kBig; i += 16)
            for (int j = 0; j < 16; j++) acc[j] += src.p[i + j];
        benchmark::DoNotOptimize(acc);
    }
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(kBig * sizeof(float)));
}
BENCHMARK(machine_read)->Name("machine/read/64MiB")->Unit(benchmark::kMillisecond);
