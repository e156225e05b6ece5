// 2-D convolution: conv2d/<impl>/<layer> (forward), conv2d_bwd_data/...,
// conv2d_bwd_filter/... on four typical layers, impl "nabla" (the active
// ISA) and "ref" (the reference backend).
// FLOPS counter (kIsRate) = 2 N K P Q (C/groups) R S per call, the same for
// all three directions (each is one GEMM of that size per image and group).
#include "bench_util.h"

#include <benchmark/benchmark.h>

#include <string>

namespace {

struct Layer {
    const char *name;
    nb_conv2d_desc d;
};

//                        n    c    h    w    k  r  s sh sw ph pw dh dw g
const Layer kLayers[] = {
    {"n1_c64_56x56_k64_3x3_p1",     {1, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1}},
    {"n1_c256_14x14_k256_3x3_p1",   {1, 256, 14, 14, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1}},
    {"n1_c3_224x224_k64_7x7_s2_p3", {1, 3, 224, 224, 64, 7, 7, 2, 2, 3, 3, 1, 1, 1}},
    {"n8_c128_28x28_k128_3x3_p1",   {8, 128, 28, 28, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1}},
};

enum Direction { kForward, kBackwardData, kBackwardFilter };

void run(benchmark::State &state, const nb_conv2d_desc &d, Direction dir, bool ref) {
    nbb::IsaScope scope(ref ? NB_ISA_REF : nb_isa_active());
    if (!scope.ok) {
        state.SkipWithError("isa unsupported");
        return;
    }
    int64_t P = 0, Q = 0;
    if (nb_conv2d_out_shape(&d, &P, &Q) != NB_OK) {
        state.SkipWithError(nb_last_error());
        return;
    }
    const size_t nx = size_t(d.n * d.c * d.h * d.w);
    const size_t nw = size_t(d.k * (d.c / d.groups) * d.r * d.s);
    const size_t ny = size_t(d.n * d.k * P * Q);
    nbb::Buffer x(nx, -1, 1, 1), w(nw, -1, 1, 2), bias(size_t(d.k), -1, 1, 3), y(ny, -1, 1, 4);
    nbb::Buffer dbias(size_t(d.k));
    for (auto _ : state) {
        nb_status s = NB_OK;
        switch (dir) {
        case kForward:        s = nb_sconv2d_forward(&d, x.p, w.p, bias.p, y.p); break;
        case kBackwardData:   s = nb_sconv2d_backward_data(&d, y.p, w.p, x.p); break;
        case kBackwardFilter: s = nb_sconv2d_backward_filter(&d, x.p, y.p, w.p, dbias.p); break;
        }
        if (s != NB_OK) {
            state.SkipWithError(nb_last_error());
            return;
        }
        benchmark::ClobberMemory();
    }
    const double flop = 2.0 * double(d.n) * double(d.k) * double(P) * double(Q) *
                        double(d.c / d.groups) * double(d.r) * double(d.s);
    state.counters["FLOPS"] =
        benchmark::Counter(flop * double(state.iterations()), benchmark::Counter::kIsRate);
}

int register_all() {
    static const struct {
        const char *family;
        Direction dir;
    } kDirs[] = {{"conv2d", kForward}, {"conv2d_bwd_data", kBackwardData},
                 {"conv2d_bwd_filter", kBackwardFilter}};
    for (const auto &dir : kDirs)
        for (const Layer &layer : kLayers)
            for (int ref = 0; ref < 2; ref++) {
                const std::string name = std::string(dir.family) + (ref ? "/ref/" : "/nabla/") + layer.name;
                const nb_conv2d_desc d = layer.d;
                const Direction dr = dir.dir;
                const bool is_ref = ref != 0;
                benchmark::RegisterBenchmark(name.c_str(), [d, dr, is_ref](benchmark::State &st) {
                    run(st, d, dr, is_ref);
                })->Unit(benchmark::kMillisecond)->UseRealTime();
            }
    return 0;
}

const int registered = register_all();

}  // namespace
