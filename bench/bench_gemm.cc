// SGEMM side by side: nabla (active ISA), the reference backend (small sizes
// only, it is slow) and the peers at their default ISA: OpenBLAS, XNNPACK's
// fully-connected operator (weights prepacked when the operator is created,
// outside the timed loop; a NULL pool: one thread) and libxsmm (libxsmm_sgemm,
// which hands the sizes it does not JIT to OpenBLAS, kept at one thread);
// one thread unless the shape says _t2 (OpenBLAS only among the peers).
//
// Names: sgemm/<impl>/<M>x<N>x<K>[_t<threads>]; counters["FLOPS"] = 2 M N K
// per call. Shapes:
//   cubes 64 .. 2048 (A, B, C square, no transposes);
//   3136x64x576, the im2col shape of a 3x3 conv, 64 -> 64 channels on a 56x56
//     image, channels-last: A = the patch matrix (3136 output pixels x 576 =
//     64 channels x 3 x 3 taps, row-major, not transposed), B = the weights as
//     PyTorch stores them (64 output channels x 576, so op(B) = B^T,
//     trans_b = 1), C = the 3136 x 64 output;
//   1x4096x4096, a GEMV-like call (one row times a 4096 x 4096 matrix B, not
//     transposed): memory bound, so it also reports the B bytes read per
//     second (bytes_per_second, compare machine/read/64MiB);
//   1x4096x4096_bt, the same with B transposed (x W^T of a linear layer);
//   1x4096x4096_bt_packed and 1x4096x4096_packed, the same two with nabla's
//     B prepacked once (nb_sgemm_pack_b outside the timed loop, then
//     nb_sgemm_packed: the bits of nb_sgemm), as XNNPACK's operator is
//     (its rows there are the same runs as in the unpacked rows);
//   128x4096x1024, a linear layer's forward pass on a batch of 128;
//   the GEMMs of the MLP training step (steps/mlp_784_256_10_b128, layer 1,
//     Linear(784, 256), batch 128) as the tensor layer calls them:
//     128x256x784_bt the forward x W^T (W stored [256, 784]: trans_b = 1),
//     256x784x128_at the weight gradient dW = dY^T x (dY stored [128, 256]:
//     trans_a = 1), 128x784x256 the input gradient dX = dY W.
//     (XNNPACK's fully-connected operator has no transposed input: no
//     xnnpack row for _at.)
#include "bench_util.h"

#include <benchmark/benchmark.h>

#include <string>

#ifdef NB_HAVE_OPENBLAS
// OpenBLAS's config header uses C99 _Complex, which clang -Wpedantic flags in C++.
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wc99-extensions"
#endif
#include <cblas.h>
#if defined(__clang__)
#pragma clang diagnostic pop
#endif
extern "C" void openblas_set_num_threads(int num_threads);
#endif

#ifdef NB_HAVE_XNNPACK
#include <xnnpack.h>   // needs bench/xnnpack_compat/ on Debian (see meson.build)
#include <limits>
#endif

#ifdef NB_HAVE_LIBXSMM
#include <libxsmm.h>
#endif

namespace {

enum Impl { kNabla, kRef, kOpenblas, kXnnpack, kLibxsmm };

struct Shape {
    int64_t M, N, K;
    int tb;
    int ta;
    int threads;
    bool ref;   // also benchmark the reference backend
    bool packed = false;   // nabla: nb_sgemm_packed with B packed outside the timed loop
};

void set_counters(benchmark::State &state, const Shape &s) {
    const double flops = 2.0 * double(s.M) * double(s.N) * double(s.K);
    state.counters["FLOPS"] = benchmark::Counter(flops * double(state.iterations()), benchmark::Counter::kIsRate);
    if (s.M == 1) state.SetBytesProcessed(int64_t(state.iterations()) * s.K * s.N * int64_t(sizeof(float)));
}

#ifdef NB_HAVE_XNNPACK
// C = A op(B) as XNNPACK's fully-connected operator: the weights are B
// ([N, K] when transposed, else [K, N] with XNN_FLAG_TRANSPOSE_WEIGHTS),
// packed once at creation; the batch is M rows of A.
void run_xnnpack(benchmark::State &state, const Shape &s, const float *A, const float *B, float *C) {
    static const bool init = xnn_initialize(nullptr) == xnn_status_success;
    xnn_operator_t op = nullptr;
    const float inf = std::numeric_limits<float>::infinity();
    if (!init || xnn_create_fully_connected_nc_f32(size_t(s.K), size_t(s.N), size_t(s.K), size_t(s.N), B,
                                                   nullptr, -inf, inf, s.tb ? 0 : XNN_FLAG_TRANSPOSE_WEIGHTS,
                                                   &op) != xnn_status_success ||
        xnn_setup_fully_connected_nc_f32(op, size_t(s.M), A, C, nullptr) != xnn_status_success) {
        state.SkipWithError("XNNPACK: fully-connected operator not created");
        if (op) xnn_delete_operator(op);
        return;
    }
    for (auto _ : state) {
        xnn_run_operator(op, nullptr);
        benchmark::ClobberMemory();
    }
    xnn_delete_operator(op);
}
#endif

// nabla with B prepacked (nb_sgemm_pack_b once, outside the timed loop):
// the same bits as nb_sgemm, compared with XNNPACK, which packs at creation.
void run_packed(benchmark::State &state, const Shape &s, const float *A, const float *B, float *C) {
    const int64_t lda = s.ta ? s.M : s.K, ldb = s.tb ? s.K : s.N;
    nb_sgemm_packed_b *pb = nullptr;
    if (nb_sgemm_pack_b(s.tb, s.N, s.K, B, ldb, &pb) != NB_OK) {
        state.SkipWithError(nb_last_error());
        return;
    }
    for (auto _ : state) {
        if (nb_sgemm_packed(s.ta, s.M, s.N, s.K, 1.0f, A, lda, pb, 0.0f, C, s.N) != NB_OK) {
            state.SkipWithError(nb_last_error());
            break;
        }
        benchmark::ClobberMemory();
    }
    nb_sgemm_packed_b_free(pb);
}

void run(benchmark::State &state, Impl impl, Shape s) {
    const int64_t lda = s.ta ? s.M : s.K, ldb = s.tb ? s.K : s.N, ldc = s.N;
    nbb::Buffer A(size_t(s.M * s.K), -1, 1, 1), B(size_t(s.K * s.N), -1, 1, 2), C(size_t(s.M * s.N), -1, 1, 3);
    nbb::IsaScope isa(impl == kRef ? NB_ISA_REF : nb_isa_active());
    nb_set_num_threads(s.threads);
#ifdef NB_HAVE_OPENBLAS
    // libxsmm hands large sizes to OpenBLAS: one thread there too.
    if (impl == kOpenblas || impl == kLibxsmm) openblas_set_num_threads(s.threads);
#endif
#ifdef NB_HAVE_XNNPACK
    if (impl == kXnnpack) {
        run_xnnpack(state, s, A.p, B.p, C.p);
        nb_set_num_threads(0);
        set_counters(state, s);
        return;
    }
#endif
    if (s.packed) {
        run_packed(state, s, A.p, B.p, C.p);
        nb_set_num_threads(0);
        set_counters(state, s);
        return;
    }
    for (auto _ : state) {
        if (impl == kOpenblas) {
#ifdef NB_HAVE_OPENBLAS
            cblas_sgemm(CblasRowMajor, s.ta ? CblasTrans : CblasNoTrans, s.tb ? CblasTrans : CblasNoTrans, int(s.M), int(s.N),
                        int(s.K), 1.0f, A.p, int(lda), B.p, int(ldb), 0.0f, C.p, int(ldc));
#endif
        } else if (impl == kLibxsmm) {
#ifdef NB_HAVE_LIBXSMM
            // Column-major: C^T = op(B)^T A^T, so B comes first.
            const libxsmm_blasint m = s.N, n = s.M, k = s.K, la = ldb, lb = lda, lc = ldc;
            const float one = 1.0f, zero = 0.0f;
            libxsmm_sgemm(s.tb ? "T" : "N", s.ta ? "T" : "N", &m, &n, &k, &one, B.p, &la, A.p, &lb, &zero, C.p, &lc);
#endif
        } else if (nb_sgemm(s.ta, s.tb, s.M, s.N, s.K, 1.0f, A.p, lda, B.p, ldb, 0.0f, C.p, ldc) != NB_OK) {
            state.SkipWithError(nb_last_error());
            break;
        }
        benchmark::ClobberMemory();
    }
    nb_set_num_threads(0);
    set_counters(state, s);
}

int register_all() {
    std::vector<Shape> shapes;
    for (int64_t n : {64, 128, 256, 512, 1024, 2048}) shapes.push_back({n, n, n, 0, 0, 1, n <= 256});
    shapes.push_back({3136, 64, 576, 1, 0, 1, false});
    shapes.push_back({1, 4096, 4096, 0, 0, 1, true});
    shapes.push_back({1, 4096, 4096, 1, 0, 1, false});
    shapes.push_back({1, 4096, 4096, 1, 0, 1, false, true});
    shapes.push_back({1, 4096, 4096, 0, 0, 1, false, true});
    shapes.push_back({128, 4096, 1024, 0, 0, 1, false});
    shapes.push_back({128, 256, 784, 1, 0, 1, false});
    shapes.push_back({256, 784, 128, 0, 1, 1, false});
    shapes.push_back({128, 784, 256, 0, 0, 1, false});
    shapes.push_back({1024, 1024, 1024, 0, 0, 2, false});
    shapes.push_back({2048, 2048, 2048, 0, 0, 2, false});
    const struct { Impl impl; const char *name; } impls[] = {
        {kNabla, "nabla"}, {kRef, "ref"},
#ifdef NB_HAVE_OPENBLAS
        {kOpenblas, "openblas"},
#endif
#ifdef NB_HAVE_XNNPACK
        {kXnnpack, "xnnpack"},
#endif
#ifdef NB_HAVE_LIBXSMM
        {kLibxsmm, "libxsmm"},
#endif
    };
    for (const Shape &s : shapes)
        for (const auto &im : impls) {
            if (im.impl == kRef && !s.ref) continue;
            if ((im.impl == kXnnpack || im.impl == kLibxsmm) && s.threads != 1) continue;
            if (im.impl == kXnnpack && s.ta) continue;
            if (s.packed && im.impl != kNabla && im.impl != kXnnpack) continue;
            std::string name = "sgemm/" + std::string(im.name) + "/" + std::to_string(s.M) + "x" +
                               std::to_string(s.N) + "x" + std::to_string(s.K);
            if (s.tb && s.M != 3136) name += "_bt";   // (the im2col row keeps its old name)
            if (s.ta) name += "_at";
            if (s.packed) name += "_packed";
            if (s.threads != 1) name += "_t" + std::to_string(s.threads);
            auto *b = benchmark::RegisterBenchmark(name.c_str(), run, im.impl, s)
                          ->Unit(benchmark::kMillisecond);
            // One thread: rates from CPU time, which other processes on a
            // shared machine do not inflate (the same as real time on a quiet
            // one). Several threads: real time (CPU time would only count the
            // calling thread).
            if (s.threads != 1) b->UseRealTime();
        }
    return 0;
}

const int registered = register_all();

}  // namespace
