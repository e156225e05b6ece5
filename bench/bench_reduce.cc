// Reductions: reduce/<impl>/<shape>, impl = nabla (active ISA) or ref.
// Rates are bytes READ (SetBytesProcessed). "/t1" pins one thread;
// without it nabla uses its default thread count. One-thread runs are timed
// in CPU time like the machine/ probes (robust to being descheduled on a
// shared machine); multi-thread runs in real time.
//
// The "/t1" rows carry their own read-bandwidth reference, counter read_bw
// (bytes/s, what bench_report.py's "% of read bw" then uses): the machine's
// read probe (read_probe.h, 512-bit loads where AVX-512 runs) over the SAME
// buffer, run untimed before every timed call and timed on the same thread
// CPU clock. A 64 MiB buffer is neither in DRAM nor in the last-level cache
// on every machine: on a Xeon with a shared 480 MiB L3 one pass over it ran
// anywhere between 14 and 27 GB/s from one second to the next, depending on
// what other tenants had evicted, so a reference measured once at the start
// of the run (machine/read512/64MiB) put the same kernel at 58 % or 96 %.
// Alternating pass by pass, the kernel and its reference see the same cache
// state, the same page layout and the same frequency.
#include "bench_util.h"
#include "read_probe.h"

#include <benchmark/benchmark.h>

#include <string>

namespace {

struct Case {
    const char *name;
    nb_reduce_op op;
    int ndim;
    int64_t shape[2];
    uint64_t mask;
};

const Case kCases[] = {
    {"sum_16M", NB_REDUCE_SUM, 1, {int64_t(1) << 24, 1}, 1},
    // Small sums: where a second thread starts to pay (MIN_ELEMS_PER_THREAD).
    {"sum_32K", NB_REDUCE_SUM, 1, {int64_t(1) << 15, 1}, 1},
    {"sum_128K", NB_REDUCE_SUM, 1, {int64_t(1) << 17, 1}, 1},
    {"sum_512K", NB_REDUCE_SUM, 1, {int64_t(1) << 19, 1}, 1},
    {"max_16M", NB_REDUCE_MAX, 1, {int64_t(1) << 24, 1}, 1},
    {"rowsum_4096x4096", NB_REDUCE_SUM, 2, {4096, 4096}, 2},
    {"colsum_4096x4096", NB_REDUCE_SUM, 2, {4096, 4096}, 1},
};

void run(benchmark::State &state, const Case &c, bool ref, int threads) {
    nbb::IsaScope scope(ref ? NB_ISA_REF : nb_isa_active());
    nb_set_num_threads(threads);
    int64_t n = 1, ny = 1, xs[2], ys[2];
    for (int i = c.ndim - 1; i >= 0; i--) {
        xs[i] = n;
        n *= c.shape[i];
    }
    for (int i = c.ndim - 1; i >= 0; i--) {
        ys[i] = ny;
        if (!(c.mask >> i & 1)) ny *= c.shape[i];
    }
    nbb::Buffer x(static_cast<size_t>(n)), y(static_cast<size_t>(ny));
    const bool with_ref = !ref && threads == 1;
    double ref_seconds = 0;
    for (auto _ : state) {
        if (with_ref) {
            state.PauseTiming();
            const double t0 = nbb::thread_cpu_seconds();
            benchmark::DoNotOptimize(nbb::read_probe(x.p, static_cast<size_t>(n)));
            ref_seconds += nbb::thread_cpu_seconds() - t0;
            state.ResumeTiming();
        }
        if (nb_sreduce(c.op, c.ndim, c.shape, x.p, xs, c.mask, y.p, ys) != NB_OK) {
            state.SkipWithError(nb_last_error());
            break;
        }
        benchmark::DoNotOptimize(y.p[0]);
        benchmark::ClobberMemory();
    }
    nb_set_num_threads(0);
    const int64_t bytes = int64_t(state.iterations()) * n * int64_t(sizeof(float));
    state.SetBytesProcessed(bytes);
    if (with_ref && ref_seconds > 0) state.counters["read_bw"] = double(bytes) / ref_seconds;
}

int register_all() {
    for (const Case &c : kCases) {
        benchmark::RegisterBenchmark((std::string("reduce/nabla/") + c.name).c_str(),
                                     [&c](benchmark::State &s) { run(s, c, false, 0); })
            ->Unit(benchmark::kMillisecond)->UseRealTime();
        benchmark::RegisterBenchmark((std::string("reduce/nabla/") + c.name + "/t1").c_str(),
                                     [&c](benchmark::State &s) { run(s, c, false, 1); })
            ->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark((std::string("reduce/ref/") + c.name).c_str(),
                                     [&c](benchmark::State &s) { run(s, c, true, 0); })
            ->Unit(benchmark::kMillisecond)->UseRealTime();
    }
    return 0;
}
const int registered = register_all();

}  // namespace
