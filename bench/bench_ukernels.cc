// Every micro-kernel of the registry (kernels/*/ukernels.def) but the
// elementwise rows (bench_ukernel_ew.cc) and the pooling, Winograd and
// depthwise kinds (bench_ukernels_conv.cc), called directly: no driver, no
// threads, operands resident in cache unless said. One benchmark each:
//   ukernel/gemm/<fn>            a KC = 256 block of one tile, panels in L1/L2;
//                                FLOPS = 2 MR NR KC per call
//   ukernel/packa|packb/<fn>     a 256 x 256 block (items = floats packed)
//   ukernel/vunary/<fn>/<n>      n = 4096 floats (items = elements)
//   ukernel/softmax/<fn>         rows of 1024
//   ukernel/rsum|rpick|rcol/<fn> 4096 floats
//   ukernel/transpose/<fn>       a 256 x 256 block of 4-byte elements
//   ukernel/gemm_adirect/<fn>    as gemm, A read in place (lda = KC)
//   ukernel/gemm_rows/<fn>       MR rows x 256 columns x KC, B in place;
//                                FLOPS as gemm
//   ukernel/gemm_rows_bt/<fn>    MR rows x 64 columns x K = 1024, B^T in place
//   ukernel/rrows/<fn>           256 rows of 16 floats (items = floats read)
//   ukernel/fill/<fn>            4096 floats
//   ukernel/im2col|col2im/<fn>   16 channels of 56 x 56, 3x3, pad 1: 256
//                                output pixels (items = column elements)
//   ukernel/packb_im2col/<fn>    16 panels x 16 channels x 9 taps, every tap
//                                a full run (items = floats packed)
#include "bench_util.h"

extern "C" {
#include "ukernel.h"
}

#include <benchmark/benchmark.h>
#include <string>
#include <vector>

namespace {

enum Kind {
    GEMM, PACKA, PACKB, VUNARY, SOFTMAX, RSUM, RPICK, RCOL, TRANSPOSE,
    GEMM_ADIRECT, GEMM_ROWS, GEMM_ROWS_BT, RROWS, FILL, IM2COL, COL2IM, PACKB_IM2COL
};

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
#define NB_UK_GEMM_ADIRECT(fn, mr, nr) NBB_E(GEMM_ADIRECT, "gemm_adirect", fn, mr, nr)
#define NB_UK_GEMM_ROWS(fn, mr) NBB_E(GEMM_ROWS, "gemm_rows", fn, mr, 0)
#define NB_UK_GEMM_ROWS_BT(fn, mr) NBB_E(GEMM_ROWS_BT, "gemm_rows_bt", fn, mr, 0)
#define NB_UK_RROWS(fn) NBB_E(RROWS, "rrows", fn, 0, 0)
#define NB_UK_FILL32(fn) NBB_E(FILL, "fill", fn, 0, 0)
#define NB_UK_IM2COL(fn) NBB_E(IM2COL, "im2col", fn, 0, 0)
#define NB_UK_COL2IM(fn) NBB_E(COL2IM, "col2im", fn, 0, 0)
#define NB_UK_PACKB_IM2COL(fn, nr) NBB_E(PACKB_IM2COL, "packb_im2col", fn, nr, 0)
#include "ukernel_registry.h"
};

constexpr int64_t kKC = 256, kBlock = 256, kN = 4096;

void set_flops(benchmark::State &state, double per_call) {
    state.counters["FLOPS"] = benchmark::Counter(per_call * double(state.iterations()),
                                                 benchmark::Counter::kIsRate);
}

// The GEMM kernels that read A or B in place; returns false for other kinds.
bool run_gemm_in_place(benchmark::State &state, const Entry *e) {
    const size_t mr = size_t(e->a);
    switch (e->k) {
    case GEMM_ADIRECT: {
        nbb::Buffer a{mr * kKC}, b{size_t(e->b * kKC)}, c{mr * size_t(e->b)};
        const auto f = reinterpret_cast<nb_gemm_ukernel_adirect_fn>(e->f);
        for (auto _ : state) {
            f(mr, size_t(e->b), size_t(kKC), a.p, kKC, b.p, c.p, e->b, 1.0f, 1.0f);
            benchmark::ClobberMemory();
        }
        set_flops(state, double(2 * e->a * e->b * kKC));
        return true;
    }
    case GEMM_ROWS: {
        const int64_t n = 256;
        nbb::Buffer a{mr * kKC}, b{size_t(kKC * n)}, c{mr * size_t(n)};
        const auto f = reinterpret_cast<nb_gemm_rows_fn>(e->f);
        for (auto _ : state) {
            f(mr, n, size_t(kKC), a.p, kKC, 1, b.p, n, c.p, n, 1.0f, 1.0f);
            benchmark::ClobberMemory();
        }
        set_flops(state, double(2 * e->a * n * kKC));
        return true;
    }
    case GEMM_ROWS_BT: {
        const int64_t n = 64, K = 1024;
        nbb::Buffer a{mr * K}, b{size_t(n * K)}, c{mr * size_t(n)};
        const auto f = reinterpret_cast<nb_gemm_rows_bt_fn>(e->f);
        for (auto _ : state) {
            f(mr, n, K, size_t(kKC), a.p, K, 1, b.p, K, c.p, n, 1.0f, 1.0f);
            benchmark::ClobberMemory();
        }
        set_flops(state, double(2 * e->a * n * K));
        return true;
    }
    default:
        return false;
    }
}

// The convolution pieces; returns the items of one call, 0 for other kinds.
int64_t run_conv_piece(benchmark::State &state, const Entry *e) {
    const nb_conv2d_desc d = {1, 16, 56, 56, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1};
    const int64_t C = 16, HW = 56 * 56, L = C * 9, nj = 256;
    switch (e->k) {
    case IM2COL:
    case COL2IM: {
        nbb::Buffer x{size_t(C * HW)}, col{size_t(L * nj)};
        for (auto _ : state) {
            if (e->k == IM2COL)
                reinterpret_cast<nb_conv_im2col_fn>(e->f)(&d, C, 56, 56, 1000, nj, x.p, col.p, nj);
            else
                reinterpret_cast<nb_conv_col2im_fn>(e->f)(&d, C, 56, 56, 1000, nj, col.p, nj, x.p);
            benchmark::ClobberMemory();
        }
        return L * nj;
    }
    case PACKB_IM2COL: {
        // A wide packer (NR a multiple of NB_CONV_PLAN_LANES) reads NR / lanes
        // plan panels a panel: the plan has that many per packed panel.
        const int64_t nr = e->a, panels = 16, rs = 9;
        const int64_t lanes = nr < NB_CONV_PLAN_LANES ? nr : NB_CONV_PLAN_LANES;
        const int64_t plan_panels = panels * (nr / lanes);
        std::vector<nb_conv_tap> plan(size_t(plan_panels * rs));
        for (int64_t p = 0; p < plan_panels; p++)
            for (int64_t t = 0; t < rs; t++) {
                nb_conv_tap &tap = plan[size_t(p * rs + t)];
                tap = nb_conv_tap{};
                tap.kind = NB_TAP_FULL;
                tap.step = 1;
                tap.base = int32_t(100 + p * lanes + (t / 3) * 56 + t % 3);
                for (int64_t i = 0; i < lanes; i++) {
                    tap.off[i] = tap.base + int32_t(i);
                    tap.mask[i] = -1;
                }
            }
        nbb::Buffer x{size_t(C * HW)}, dst{size_t(panels * L * nr + 64)};
        for (auto _ : state) {
            reinterpret_cast<nb_conv_pack_b_fn>(e->f)(plan.data(), rs, 0, L, panels, x.p, HW, dst.p);
            benchmark::ClobberMemory();
        }
        return panels * L * nr;
    }
    default:
        return 0;
    }
}

// Row sums of short rows and fill; returns the items of one call, 0 for
// other kinds.
int64_t run_row_piece(benchmark::State &state, const Entry *e) {
    switch (e->k) {
    case RROWS: {
        nbb::Buffer x{size_t(256 * 16)}, out{256};
        for (auto _ : state) {
            reinterpret_cast<nb_f32_rrows_ft *>(e->f)(0, 256, 16, x.p, 16, out.p);
            benchmark::ClobberMemory();
        }
        return 256 * 16;
    }
    case FILL: {
        nbb::Buffer y{size_t(kN)};
        for (auto _ : state) {
            reinterpret_cast<nb_x32_fill_ft *>(e->f)(kN, 0x3f800000u, y.p);
            benchmark::ClobberMemory();
        }
        return kN;
    }
    default:
        return 0;
    }
}

void bm_entry(benchmark::State &state, const Entry *e) {
    if (!nb_isa_supported(e->isa)) {
        state.SkipWithError("isa unsupported");
        return;
    }
    if (run_gemm_in_place(state, e)) return;
    int64_t items = run_conv_piece(state, e) + run_row_piece(state, e);
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
    default:   // handled above
        break;
    }
    state.SetItemsProcessed(int64_t(state.iterations()) * items);
}

const int registered = nbb::register_ukernels(kEntries, bm_entry);

}  // namespace
