// Tensor-layer elementwise ops: tensor/<impl>/<shape>.
//   impl = nabla: the public op (nb_add / nb_add_scalar), output allocation
//          included, as a user calls it;
//   impl = loop:  a plain C++ loop over raw float buffers into a preallocated
//          output, compiled here at the bench's flags (the baseline an
//          engine author would write).
// Rates are bytes MOVED, read + written (float32 add: 12 B per element), so
// a rate at DRAM speed compares with twice machine/memcpy's (which counts
// only the bytes it reads); scripts/bench_report.py reports that ratio.
// Unsuffixed shapes run on ONE thread (CPU time, like machine/); "_t2" pins
// two threads and is timed in real time.
#include "bench_util.h"

#include <benchmark/benchmark.h>

#include <string>

namespace {

struct Threads {
    int saved = nb_get_num_threads();
    explicit Threads(int n) { nb_set_num_threads(n); }
    ~Threads() { nb_set_num_threads(saved); }
};

enum Kind { kContig, kRowBroadcast, kScalar };

struct Case {
    const char *name;
    Kind kind;
    int64_t rows, cols;   // a is rows x cols; b: same, [cols], or a number
    int threads;
};

const Case kCases[] = {
    {"add_4M", kContig, 1, int64_t(1) << 22, 1},
    {"add_4M_t2", kContig, 1, int64_t(1) << 22, 2},
    // 4M floats move 48 MiB, not far above a 32 MiB L3; 16M (192 MiB) is DRAM.
    {"add_16M", kContig, 1, int64_t(1) << 24, 1},
    {"add_16M_t2", kContig, 1, int64_t(1) << 24, 2},
    {"add_bcast_1024x1024", kRowBroadcast, 1024, 1024, 1},
    {"add_bcast_1024x1024_t2", kRowBroadcast, 1024, 1024, 2},
    {"add_scalar_4M", kScalar, 1, int64_t(1) << 22, 1},
    // Cache-resident: 3 x 256 KiB, in L2. On 2 threads: the smallest add
    // the tensor layer splits (NB_FOREACH_GRAIN elements a thread).
    {"add_64K", kContig, 1, int64_t(1) << 16, 1},
    {"add_64K_t2", kContig, 1, int64_t(1) << 16, 2},
};

int64_t bytes_moved(const Case &c) {
    const int64_t n = c.rows * c.cols;
    const int64_t b = c.kind == kContig ? n : c.kind == kRowBroadcast ? c.cols : 0;
    return (2 * n + b) * int64_t(sizeof(float));
}

nb_tensor *wrap(nbb::Buffer &buf, int ndim, const int64_t *shape) {
    return nb_tensor_wrap(buf.p, NB_FLOAT32, ndim, shape, nullptr, nullptr, nullptr);
}

void bm_nabla(benchmark::State &state, const Case &c) {
    const int64_t n = c.rows * c.cols;
    nbb::Buffer a(size_t(n), -1.0f, 1.0f, 1), b(size_t(c.kind == kContig ? n : c.cols), -1.0f, 1.0f, 2);
    const int64_t sa[2] = {c.rows, c.cols}, sb[1] = {c.cols};
    nb_tensor *ta = wrap(a, 2, sa);
    nb_tensor *tb = c.kind == kContig ? wrap(b, 2, sa) : c.kind == kRowBroadcast ? wrap(b, 1, sb) : nullptr;
    if (!ta || (c.kind != kScalar && !tb)) {
        state.SkipWithError(nb_last_error());
        return;
    }
    Threads th(c.threads);
    for (auto _ : state) {
        nb_tensor *out = c.kind == kScalar ? nb_add_scalar(ta, 0.5) : nb_add(ta, tb);
        if (!out) {
            state.SkipWithError(nb_last_error());
            break;
        }
        benchmark::DoNotOptimize(nb_tensor_data(out));
        benchmark::ClobberMemory();
        nb_tensor_release(out);
    }
    nb_tensor_release(ta);
    nb_tensor_release(tb);
    state.SetBytesProcessed(int64_t(state.iterations()) * bytes_moved(c));
}

// Separate functions so each loop is compiled (and vectorized) on its own.
void loop_add(int64_t n, const float *a, const float *b, float *y) {
    for (int64_t i = 0; i < n; i++) y[i] = a[i] + b[i];
}
void loop_add_scalar(int64_t n, const float *a, float s, float *y) {
    for (int64_t i = 0; i < n; i++) y[i] = a[i] + s;
}

void bm_loop(benchmark::State &state, const Case &c) {
    const int64_t n = c.rows * c.cols;
    nbb::Buffer a(size_t(n), -1.0f, 1.0f, 1), b(size_t(c.kind == kContig ? n : c.cols), -1.0f, 1.0f, 2);
    nbb::Buffer y{size_t(n)};
    for (auto _ : state) {
        switch (c.kind) {
        case kContig: loop_add(n, a.p, b.p, y.p); break;
        case kRowBroadcast:
            for (int64_t r = 0; r < c.rows; r++) loop_add(c.cols, a.p + r * c.cols, b.p, y.p + r * c.cols);
            break;
        case kScalar: loop_add_scalar(n, a.p, 0.5f, y.p); break;
        }
        benchmark::DoNotOptimize(y.p);
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(int64_t(state.iterations()) * bytes_moved(c));
}

int register_all() {
    for (const Case &c : kCases) {
        auto *bn = benchmark::RegisterBenchmark((std::string("tensor/nabla/") + c.name).c_str(),
                                                [&c](benchmark::State &s) { bm_nabla(s, c); });
        bn->Unit(benchmark::kMicrosecond);
        if (c.threads > 1) bn->UseRealTime();
        if (c.threads == 1)
            benchmark::RegisterBenchmark((std::string("tensor/loop/") + c.name).c_str(),
                                         [&c](benchmark::State &s) { bm_loop(s, c); })
                ->Unit(benchmark::kMicrosecond);
    }
    return 0;
}
const int registered = register_all();

}  // namespace
