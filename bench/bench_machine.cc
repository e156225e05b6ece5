// The machine's own limits, measured in the same run as the kernels:
// FMA peak (flop/s, one core) and memory bandwidth (memcpy, plain read).
#include "bench_util.h"
#include "read_probe.h"

#include <ctime>

extern "C" {
#include "ukernel.h"   // the ISAs' FMA peak probes (NB_UK_PEAK registry lines)
}

#include <benchmark/benchmark.h>

#if defined(__x86_64__)
float nbb_read_avx2(const float *p, size_t n);
float nbb_read_avx512(const float *p, size_t n);
#endif

// The peak probe of `isa` from the registry, with its flops per iteration.
static nb_fma_peak_ft *peak_probe(nb_isa isa, int64_t *flops_per_iter) {
    struct Probe { nb_isa isa; nb_fma_peak_ft *fn; int64_t fpi; };
    static const Probe probes[] = {
#define NB_UK_PEAK(fn, fpi) {NB_UK_ISA, fn, fpi},
#include "ukernel_registry.h"
        {NB_ISA_REF, nullptr, 0}};
    for (const Probe &p : probes)
        if (p.fn && p.isa == isa) { *flops_per_iter = p.fpi; return p.fn; }
    return nullptr;
}

static void run_peak(benchmark::State &state, nb_isa isa) {
    int64_t fpi = 0;
    nb_fma_peak_ft *probe = nb_isa_supported(isa) ? peak_probe(isa, &fpi) : nullptr;
    if (!probe) {
        state.SkipWithError("no peak probe for this ISA on this CPU");
        return;
    }
    const int64_t iters = 1 << 20;
    for (auto _ : state) benchmark::DoNotOptimize(probe(iters));
    state.counters["FLOPS"] = benchmark::Counter(double(iters) * double(fpi) * double(state.iterations()),
                                                 benchmark::Counter::kIsRate);
}

// The 256-bit FMA peak (AVX2; NEON's on AArch64): what the report's "% of
// peak" uses unless AVX-512 ran.
static void machine_peak_fma(benchmark::State &state) {
    run_peak(state, nb_isa_supported(NB_ISA_AVX2) ? NB_ISA_AVX2 : NB_ISA_NEON);
}
BENCHMARK(machine_peak_fma)->Name("machine/peak/fma")->Unit(benchmark::kMillisecond);

// The 512-bit peak, where nabla's AVX-512 kernels can run (the peak its
// flop rates are then measured against).
static void machine_peak_fma512(benchmark::State &state) { run_peak(state, NB_ISA_AVX512); }
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
static float read_avx2_or_plain(const float *p, size_t n) {
#if defined(__x86_64__)
    if (nb_cpu_features() & NB_CPU_AVX2) return nbb_read_avx2(p, n);
#endif
    float acc[16] = {0};
    const size_t body = n - n % 16;
    for (size_t i = 0; i < body; i += 16)
        for (int j = 0; j < 16; j++) acc[j] += p[i + j];
    float t = 0;
    for (float a : acc) t += a;
    for (size_t i = body; i < n; i++) t += p[i];
    return t;
}

float nbb::read_probe(const float *p, size_t n) {
#if defined(__x86_64__)
    if (nb_isa_supported(NB_ISA_AVX512)) return nbb_read_avx512(p, n);
#endif
    return read_avx2_or_plain(p, n);
}

double nbb::thread_cpu_seconds() {
    timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

static void machine_read(benchmark::State &state) {
    nbb::Buffer src(kBig);
    for (auto _ : state) benchmark::DoNotOptimize(read_avx2_or_plain(src.p, kBig));
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(kBig * sizeof(float)));
}
BENCHMARK(machine_read)->Name("machine/read/64MiB")->Unit(benchmark::kMillisecond);

// The same with 512-bit loads, where the CPU has AVX-512: the bandwidth the
// AVX-512 reductions and the GEMV are measured against (the report prefers
// it when it ran).
static void machine_read512(benchmark::State &state) {
#if defined(__x86_64__)
    if (!nb_isa_supported(NB_ISA_AVX512)) {
        state.SkipWithError("no AVX-512 on this CPU");
        return;
    }
    nbb::Buffer src(kBig);
    for (auto _ : state) benchmark::DoNotOptimize(nbb_read_avx512(src.p, kBig));
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(kBig * sizeof(float)));
#else
    state.SkipWithError("x86-64 only");
#endif
}
BENCHMARK(machine_read512)->Name("machine/read512/64MiB")->Unit(benchmark::kMillisecond);
