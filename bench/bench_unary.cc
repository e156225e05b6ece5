// Elementwise transcendentals and softmax: nabla (active ISA) vs the
// reference backend, a plain scalar glibc loop and glibc's libmvec at the
// same vector width; on an AVX-512 machine the same again at the AVX2 width.
//   unary/<impl>/<fn>/<n>        impl: nabla | ref | libm | libmvec; items = elements
//   unary_ymm/<impl>/<fn>/<n>    impl: nabla (NB_ISA_AVX2) | libmvec (8 lanes) | numpy
//     (the AVX2 width; not "_avx2/", which bench_report.py keeps for the
//     oneDNN runs capped at AVX2)
//   softmax/<impl>/<rows>x<cols> impl: nabla | ref;  softmax_ymm/nabla: NB_ISA_AVX2
// numpy's rows (unary*/numpy/...) are added to the results by
// scripts/bench_numpy.py (scripts/run.sh), from a separate process.
// Kernel benchmarks run on ONE thread (nb_set_num_threads(1) for the
// duration), so the ratio against the scalar libm loop is per core.
#include "bench_util.h"

#include <benchmark/benchmark.h>
#include <cmath>

#if NB_HAVE_MVEC
void nbb_mvec_avx2(int fn, size_t n, const float *x, float *y);
void nbb_mvec_avx512(int fn, size_t n, const float *x, float *y);
#endif

namespace {

struct OneThread {
    int saved = nb_get_num_threads();
    OneThread() { nb_set_num_threads(1); }
    ~OneThread() { nb_set_num_threads(saved); }
};

const char *fn_name(nb_unary_op op) {
    switch (op) {
    case NB_UNARY_EXP:     return "exp";
    case NB_UNARY_LOG:     return "log";
    case NB_UNARY_TANH:    return "tanh";
    case NB_UNARY_SIGMOID: return "sigmoid";
    case NB_UNARY_GELU:    return "gelu";
    case NB_UNARY_RELU:    return "relu";
    }
    return "?";
}

// Inputs in a range where every function does real work (no saturation
// shortcuts): exp/tanh/sigmoid/gelu in [-10, 10], log in (0, 100].
void fill(nb_unary_op op, nbb::Buffer &x) {
    for (size_t i = 0; i < x.n; i++) x.p[i] = op == NB_UNARY_LOG ? 50.0f * (x.p[i] + 1.0001f)
                                                                 : 10.0f * x.p[i];
}

void bm_unary(benchmark::State &state, nb_unary_op op, nb_isa isa) {
    const int64_t n = state.range(0);
    nbb::Buffer x(size_t(n), -1.0f, 1.0f, 7), y{size_t(n)};
    fill(op, x);
    nbb::IsaScope scope(isa);
    if (!scope.ok) {
        state.SkipWithError("isa unsupported");
        return;
    }
    OneThread one;
    for (auto _ : state) {
        if (nb_sunary(op, n, x.p, y.p) != NB_OK) {
            state.SkipWithError(nb_last_error());
            return;
        }
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(int64_t(state.iterations()) * n);
}

// The baseline an engine author would write: a scalar loop over glibc.
void bm_libm(benchmark::State &state, nb_unary_op op) {
    const int64_t n = state.range(0);
    nbb::Buffer x(size_t(n), -1.0f, 1.0f, 7), y{size_t(n)};
    fill(op, x);
    for (auto _ : state) {
        switch (op) {
        case NB_UNARY_EXP:  for (int64_t i = 0; i < n; i++) y.p[i] = std::exp(x.p[i]); break;
        case NB_UNARY_LOG:  for (int64_t i = 0; i < n; i++) y.p[i] = std::log(x.p[i]); break;
        case NB_UNARY_TANH: for (int64_t i = 0; i < n; i++) y.p[i] = std::tanh(x.p[i]); break;
        default: state.SkipWithError("no libm baseline"); return;
        }
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(int64_t(state.iterations()) * n);
}

#if NB_HAVE_MVEC
// glibc's libmvec at 8 (AVX2) or 16 (AVX-512) lanes; sigmoid and gelu are
// nabla's formulas around libmvec's expf and erff (bench/mvec_peer.cc).
void bm_libmvec(benchmark::State &state, nb_unary_op op, int width) {
    const int64_t n = state.range(0);
    nbb::Buffer x(size_t(n), -1.0f, 1.0f, 7), y{size_t(n)};
    fill(op, x);
    const bool ok = width == 16 ? __builtin_cpu_supports("avx512f")
                                : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (!ok || n % width != 0) {
        state.SkipWithError("isa unsupported");
        return;
    }
    const int fn = op == NB_UNARY_EXP ? 0 : op == NB_UNARY_LOG ? 1 : op == NB_UNARY_TANH ? 2
                 : op == NB_UNARY_SIGMOID ? 3 : 4;
    for (auto _ : state) {
        (width == 16 ? nbb_mvec_avx512 : nbb_mvec_avx2)(fn, size_t(n), x.p, y.p);
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(int64_t(state.iterations()) * n);
}
#endif

void bm_softmax(benchmark::State &state, nb_isa isa) {
    const int64_t rows = state.range(0), cols = state.range(1);
    nbb::Buffer x(size_t(rows * cols), -10.0f, 10.0f, 3), y{size_t(rows * cols)};
    nbb::IsaScope scope(isa);
    if (!scope.ok) {
        state.SkipWithError("isa unsupported");
        return;
    }
    OneThread one;
    for (auto _ : state) {
        if (nb_ssoftmax(0, rows, cols, x.p, cols, y.p, cols) != NB_OK) {
            state.SkipWithError(nb_last_error());
            return;
        }
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(int64_t(state.iterations()) * rows * cols);
}

const int64_t kN = int64_t(1) << 20;   // 1M floats: 4 MiB in, 4 MiB out

int register_all() {
    const nb_unary_op ops[] = {NB_UNARY_EXP, NB_UNARY_TANH, NB_UNARY_LOG, NB_UNARY_SIGMOID,
                               NB_UNARY_GELU, NB_UNARY_RELU};
    for (nb_unary_op op : ops) {
        const std::string f = fn_name(op);
        benchmark::RegisterBenchmark(("unary/nabla/" + f).c_str(), bm_unary, op, nb_isa_active())
            ->Arg(kN)->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark(("unary/ref/" + f).c_str(), bm_unary, op, NB_ISA_REF)
            ->Arg(kN)->Unit(benchmark::kMicrosecond);
        if (op == NB_UNARY_EXP || op == NB_UNARY_TANH || op == NB_UNARY_LOG)
            benchmark::RegisterBenchmark(("unary/libm/" + f).c_str(), bm_libm, op)
                ->Arg(kN)->Unit(benchmark::kMicrosecond);
#if NB_HAVE_MVEC
        if (op == NB_UNARY_RELU) continue;
        const bool avx512 = nb_isa_active() == NB_ISA_AVX512;
        if (avx512 || nb_isa_active() == NB_ISA_AVX2)
            benchmark::RegisterBenchmark(("unary/libmvec/" + f).c_str(), bm_libmvec, op, avx512 ? 16 : 8)
                ->Arg(kN)->Unit(benchmark::kMicrosecond);
        if (avx512) {   // the AVX2 width side by side: nabla's AVX2 kernels vs 8-lane libmvec
            benchmark::RegisterBenchmark(("unary_ymm/nabla/" + f).c_str(), bm_unary, op, NB_ISA_AVX2)
                ->Arg(kN)->Unit(benchmark::kMicrosecond);
            benchmark::RegisterBenchmark(("unary_ymm/libmvec/" + f).c_str(), bm_libmvec, op, 8)
                ->Arg(kN)->Unit(benchmark::kMicrosecond);
        }
#endif
    }
    benchmark::RegisterBenchmark("softmax/nabla", bm_softmax, nb_isa_active())
        ->Args({1024, 1024})->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("softmax/ref", bm_softmax, NB_ISA_REF)
        ->Args({1024, 1024})->Unit(benchmark::kMicrosecond);
    if (nb_isa_active() == NB_ISA_AVX512)   // nabla's AVX2 rows on the same machine
        benchmark::RegisterBenchmark("softmax_ymm/nabla", bm_softmax, NB_ISA_AVX2)
            ->Args({1024, 1024})->Unit(benchmark::kMicrosecond);
    return 0;
}
const int registered = register_all();

}  // namespace
