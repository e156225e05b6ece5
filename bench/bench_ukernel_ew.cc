// The elementwise micro-kernels, one benchmark per micro-kernel of
// the registry (the NB_UK_VBINARY lines of kernels/*/ukernels.def): the plain-C twin
// (__scalar) and every SIMD ISA's micro-kernel side by side, called
// directly (no tensor layer, no threads).
//   vbinary/<isa tag>/<kernel>/<n>     e.g. vbinary/avx2_u16/vaddc/65536
//   kernel: v<op> (y = a op b), v<op>c (y = a op c), vr<op>c (y = c op a)
//   n: 4096 (L1), 65536 (L2), 4M floats (memory)
// Items = elements; bytes = 12 per element for v<op>, 8 for the others.
// The optimiser updates (the NB_UK_OPTIM registry lines), likewise:
//   optim/<isa tag>/<sgd|adam>/<n>   (SGD with momentum and weight decay)
// bytes = 20 per element for sgd (p, buf read and written, g read), 28 for adam.
// The batch-norm rows (the NB_UK_BNORM lines), one channel of 64 rows:
//   bnorm/<isa tag>/<sum|sqdev|gsums|affine>/<n>   n floats a row (196, 784)
// items = elements of the channel.
#include "bench_util.h"

extern "C" {
#include "ukernel.h"
}

#include <benchmark/benchmark.h>
#include <string>

namespace {

struct Kernel {
    const char *stem, *tag;
    nb_isa isa;
    nb_f32_vbinary_fn vv;
    nb_f32_vbinaryc_fn vc;
};

#define NBB_VBINARY(op, name, isa, tag)                                                   \
    {"v" #name, #tag, isa, nb_f32_v##name##_ukernel__##tag, nullptr},                     \
    {"v" #name "c", #tag, isa, nullptr, nb_f32_v##name##c_ukernel__##tag},                \
    {"vr" #name "c", #tag, isa, nullptr, nb_f32_vr##name##c_ukernel__##tag},
const Kernel kKernels[] = {
#define NB_UK_VBINARY(tag) NB_F32_VBINARY_OPS(NBB_VBINARY, NB_UK_ISA, tag)
#include "ukernel_registry.h"
};

void bm_vbinary(benchmark::State &state, const Kernel *k) {
    if (!nb_isa_supported(k->isa)) {
        state.SkipWithError("isa unsupported");
        return;
    }
    const size_t n = size_t(state.range(0));
    // Positive b so the ReLU gradient takes both branches on a's signs.
    nbb::Buffer a(n, -1.0f, 1.0f, 7), b(n, 0.5f, 2.0f, 9), y(n);
    for (auto _ : state) {
        if (k->vv) k->vv(n, a.p, b.p, y.p);
        else k->vc(n, a.p, 1.25f, y.p);
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(n));
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(n) * (k->vv ? 12 : 8));
}

struct Optim {
    const char *stem, *tag;
    nb_isa isa;
    nb_f32_sgd_fn sgd;
    nb_f32_adam_fn adam;
};

#define NBB_OPTIM(isa, tag)                                        \
    {"sgd", #tag, isa, nb_f32_sgd_ukernel__##tag, nullptr},        \
    {"adam", #tag, isa, nullptr, nb_f32_adam_ukernel__##tag},
const Optim kOptims[] = {
#define NB_UK_OPTIM(tag) NBB_OPTIM(NB_UK_ISA, tag)
#include "ukernel_registry.h"
};

void bm_optim(benchmark::State &state, const Optim *k) {
    if (!nb_isa_supported(k->isa)) {
        state.SkipWithError("isa unsupported");
        return;
    }
    const size_t n = size_t(state.range(0));
    nbb::Buffer p(n, -1.0f, 1.0f, 7), g(n, -1.0f, 1.0f, 9), m(n, -0.1f, 0.1f, 11), v(n, 0.0f, 0.01f, 13);
    const nb_sgd_hparams sh = {1e-4f, 0.9f, -1e-3f, 1, 1, 0};
    const nb_adam_hparams ah = {0.0f, 0.9f, 0.1f, 0.999f, 0.001f, 0.5f, 1e-8f, -1e-3f, 0};
    for (auto _ : state) {
        if (k->sgd) k->sgd(n, p.p, g.p, m.p, &sh);
        else k->adam(n, p.p, g.p, m.p, v.p, &ah);
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(n));
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(n) * (k->sgd ? 20 : 28));
}

struct Bnorm {
    const char *tag;
    nb_isa isa;
    nb_f32_bnorm_ukernels k;
};
const Bnorm kBnorms[] = {
#define NB_UK_BNORM(tag)                                                                        \
    {#tag, NB_UK_ISA, {nb_f32_bnsum_ukernel__##tag, nb_f32_bnsqdev_ukernel__##tag,               \
                       nb_f32_bngsums_ukernel__##tag, nb_f32_bnaffine_ukernel__##tag}},
#include "ukernel_registry.h"
};

void bm_bnorm(benchmark::State &state, const Bnorm *k, int which) {
    if (!nb_isa_supported(k->isa)) {
        state.SkipWithError("isa unsupported");
        return;
    }
    const size_t n = size_t(state.range(0)), rows = 64;
    nbb::Buffer x(rows * n, -1.0f, 1.0f, 7), g(rows * n, -1.0f, 1.0f, 9), y(rows * n);
    double s[2] = {0, 0};
    for (auto _ : state) {
        if (which == 0) s[0] += k->k.sum(rows, n, x.p, n);
        else if (which == 1) s[0] += k->k.sqdev(rows, n, x.p, n, 0.25);
        else if (which == 2) k->k.gsums(rows, n, g.p, x.p, n, 0.25, s);
        else k->k.affine(rows, n, n, g.p, x.p, 0.5f, -0.25f, 0.125f, y.p);
        benchmark::DoNotOptimize(s);
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(rows * n));
}

int register_all() {
    static const char *const bn_stems[] = {"sum", "sqdev", "gsums", "affine"};
    for (const Bnorm &k : kBnorms)
        for (int w = 0; w < 4; w++) {
            const std::string name = std::string("bnorm/") + k.tag + "/" + bn_stems[w];
            benchmark::RegisterBenchmark(name.c_str(), bm_bnorm, &k, w)->Arg(196)->Arg(784);
        }
    for (const Kernel &k : kKernels) {
        const std::string name = std::string("vbinary/") + k.tag + "/" + k.stem;
        benchmark::RegisterBenchmark(name.c_str(), bm_vbinary, &k)
            ->Arg(4096)->Arg(65536)->Arg(int64_t(1) << 22);
    }
    for (const Optim &k : kOptims) {
        const std::string name = std::string("optim/") + k.tag + "/" + k.stem;
        benchmark::RegisterBenchmark(name.c_str(), bm_optim, &k)
            ->Arg(4096)->Arg(65536)->Arg(int64_t(1) << 22);
    }
    return 0;
}
const int registered = register_all();

}  // namespace
