// Every micro-kernel of the registry (kernels/*/ukernels.def) but the
// elementwise rows (bench_ukernel_ew.cc), called directly: no driver, no
// threads, operands resident in cache unless said. One benchmark each:
//   ukernel/gemm/<fn>            a KC = 256 block of one tile, panels in L1/L2;
//                                FLOPS = 2 MR NR KC per call
//   ukernel/packa|packb/<fn>     a 256 x 256 block (items = floats packed)
//   ukernel/vunary/<fn>/<n>      n = 4096 floats (items = elements)
//   ukernel/softmax/<fn>         rows of 1024
//   ukernel/rsum|rpick|rcol/<fn> 4096 floats
//   ukernel/transpose/<fn>       a 256 x 256 block of 4-byte elements
// The rest of the kinds (the no-pack row kernels, rrows, fill, im2col and
// col2im) are exercised through their families' benchmarks.
#include "bench_util.h"

extern "C" {
#include "ukernel.h"
}

#include <benchmark/benchmark.h>
#include <string>

namespace {

enum Kind { GEMM, PACKA, PACKB, VUNARY, SOFTMAX, RSUM, RPICK, RCOL, TRANSPOSE };

struct Entry {
    const char *kind, *fn;
    nb_isa isa;
    Kind k;
    void (*f)(void);
    int a, b;
};

#define NBB_E(kind, name, fn, a, b) {name, #fn, NB_UK_ISA, kind, reinterpret_cast<void (*)(void)>(fn), a, b},
const Entry kEntries[] = {
#define NB_UK_GEMM(fn, mr, nr) NBB_E(GEMM, "gemm", fn, mr, nr)
#define NB_UK_PACKA(fn, mr) NBB_E(PACKA, "packa", fn, mr, 0)
#define NB_UK_PACKB(fn, nr) NBB_E(PACKB, "packb", fn, nr, 0)
#define NB_UK_VUNARY(fn, op, unroll) NBB_E(VUNARY, "vunary", fn, op, unroll)
#define NB_UK_SOFTMAX(fn, log) NBB_E(SOFTMAX, "softmax", fn, log, 0)
#define NB_UK_RSUM(fn) NBB_E(RSUM, "rsum", fn, 0, 0)
#define NB_UK_RPICK(fn, is_max) NBB_E(RPICK, "rpick", fn, is_max, 0)
#define NB_UK_RCOL(fn, op) NBB_E(RCOL, "rcol", fn, op, 0)
#define NB_UK_TRANSPOSE32(fn, tile) NBB_E(TRANSPOSE, "transpose", fn, tile, 0)
#include "ukernel_registry.h"
};

constexpr int64_t kKC = 256, kBlock = 256, kN = 4096;

void bm_entry(benchmark::State &state, const Entry *e) {
    if (!nb_isa_supported(e->isa)) {
        state.SkipWithError("isa unsupported");
        return;
    }
    int64_t items = 0;
    switch (e->k) {
    case GEMM: {
        nbb::Buffer a{size_t(e->a * kKC)}, b{size_t(e->b * kKC)}, c{size_t(e->a * e->b)};
        const auto f = reinterpret_cast<nb_gemm_ukernel_fn>(e->f);
        for (auto _ : state) {
            f(size_t(e->a), size_t(e->b), size_t(kKC), a.p, b.p, c.p, e->b, 1.0f, 1.0f);
            benchmark::ClobberMemory();
        }
        state.counters["FLOPS"] = benchmark::Counter(double(2 * e->a * e->b * kKC) * double(state.iterations()),
                                                     benchmark::Counter::kIsRate);
        return;
    }
    case PACKA:
    case PACKB: {
        nbb::Buffer src{size_t(kBlock * kBlock)}, dst(size_t((kBlock + e->a) * kBlock + 64));
        for (auto _ : state) {
            if (e->k == PACKA)
                reinterpret_cast<nb_gemm_pack_a_fn>(e->f)(0, kBlock, kBlock, src.p, kBlock, dst.p);
            else
                reinterpret_cast<nb_gemm_pack_b_fn>(e->f)(0, kBlock, kBlock, src.p, kBlock, dst.p);
            benchmark::ClobberMemory();
        }
        items = kBlock * kBlock;
        break;
    }
    case VUNARY:
    case SOFTMAX: {
        const int64_t n = e->k == VUNARY ? kN : 1024;
        nbb::Buffer x(size_t(n), e->a == NB_UNARY_LOG && e->k == VUNARY ? 0.1f : -4.0f, 4.0f), y{size_t(n)};
        const auto f = reinterpret_cast<nb_f32_vunary_fn>(e->f);   // same signature for both kinds
        for (auto _ : state) {
            f(size_t(n), x.p, y.p);
            benchmark::ClobberMemory();
        }
        items = n;
        break;
    }
    case RSUM:
    case RPICK:
    case RCOL: {
        nbb::Buffer x{size_t(kN)}, acc{size_t(kN)};
        for (auto _ : state) {
            if (e->k == RSUM) reinterpret_cast<nb_f32_rsum_ft *>(e->f)(kN, x.p, 1, acc.p);
            else if (e->k == RPICK) benchmark::DoNotOptimize(reinterpret_cast<nb_f32_rpick_ft *>(e->f)(kN, x.p, 1));
            else reinterpret_cast<nb_f32_rcol_ft *>(e->f)(kN, x.p, acc.p);
            benchmark::ClobberMemory();
        }
        items = kN;
        break;
    }
    case TRANSPOSE: {
        nbb::Buffer src{size_t(kBlock * kBlock)}, dst{size_t(kBlock * kBlock)};
        for (auto _ : state) {
            reinterpret_cast<nb_x32_transpose_ft *>(e->f)(kBlock, kBlock, src.p, kBlock, dst.p, kBlock, 0);
            benchmark::ClobberMemory();
        }
        items = kBlock * kBlock;
        break;
    }
    }
    state.SetItemsProcessed(int64_t(state.iterations()) * items);
}

int register_all() {
    for (const Entry &e : kEntries) {
        const std::string name = std::string("ukernel/") + e.kind + "/" + e.fn;
        benchmark::RegisterBenchmark(name.c_str(), bm_entry, &e);
    }
    return 0;
}
const int registered = register_all();

}  // namespace
