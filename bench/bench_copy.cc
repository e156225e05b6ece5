// Strided copies: copy/<impl>/<shape>, impl = nabla (active ISA) or ref.
// Rates are bytes READ (SetBytesProcessed; as many are written), to compare
// with machine/memcpy/64MiB measured in the same run. "/t1" pins one thread
// and is timed in CPU time like the machine/ probes (robust to being
// descheduled on a shared machine); multi-thread runs in real time.
#include "bench_util.h"

#include <benchmark/benchmark.h>

#include <string>

namespace {

struct Case {
    const char *name;
    int ndim;
    int64_t shape[4];     // dst shape
    int64_t src_st[4];    // src strides (elements)
};

// dst is always dense row-major over `shape`.
const Case kCases[] = {
    {"contig_16M", 1, {int64_t(1) << 24}, {1}},
    // Small copies: where a second thread starts to pay (MIN_BYTES_PER_THREAD).
    {"contig_64K", 1, {int64_t(1) << 16}, {1}},
    {"contig_256K", 1, {int64_t(1) << 18}, {1}},
    {"transpose_256x256", 2, {256, 256}, {1, 256}},
    {"transpose_512x512", 2, {512, 512}, {1, 512}},
    {"transpose_4096x4096", 2, {4096, 4096}, {1, 4096}},
    // NCHW (8, 128, 128, 128) -> NHWC: dst (N, H, W, C), src strides of NCHW.
    {"nchw_to_nhwc_8x128x128x128", 4, {8, 128, 128, 128}, {128 * 128 * 128, 128, 1, 128 * 128}},
    {"nchw_to_nhwc_8x64x56x56", 4, {8, 56, 56, 64}, {64 * 56 * 56, 56, 1, 56 * 56}},
};

void run(benchmark::State &state, const Case &c, bool ref, int threads) {
    nbb::IsaScope scope(ref ? NB_ISA_REF : nb_isa_active());
    nb_set_num_threads(threads);
    int64_t n = 1, ds[4];
    for (int i = c.ndim - 1; i >= 0; i--) {
        ds[i] = n;
        n *= c.shape[i];
    }
    nbb::Buffer src(static_cast<size_t>(n)), dst(static_cast<size_t>(n));
    for (auto _ : state) {
        if (nb_copy_strided(sizeof(float), c.ndim, c.shape, src.p, c.src_st, dst.p, ds) != NB_OK) {
            state.SkipWithError(nb_last_error());
            break;
        }
        benchmark::ClobberMemory();
    }
    nb_set_num_threads(0);
    state.SetBytesProcessed(int64_t(state.iterations()) * n * int64_t(sizeof(float)));
}

int register_all() {
    for (const Case &c : kCases) {
        benchmark::RegisterBenchmark((std::string("copy/nabla/") + c.name).c_str(),
                                     [&c](benchmark::State &s) { run(s, c, false, 0); })
            ->Unit(benchmark::kMillisecond)->UseRealTime();
        benchmark::RegisterBenchmark((std::string("copy/nabla/") + c.name + "/t1").c_str(),
                                     [&c](benchmark::State &s) { run(s, c, false, 1); })
            ->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark((std::string("copy/ref/") + c.name).c_str(),
                                     [&c](benchmark::State &s) { run(s, c, true, 0); })
            ->Unit(benchmark::kMillisecond)->UseRealTime();
    }
    return 0;
}
const int registered = register_all();

}  // namespace
