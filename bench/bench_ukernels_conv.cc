// The registry's convolution-side kinds that bench_ukernels.cc does not
// cover, called directly (no driver, no threads, operands in cache):
//   ukernel/maxpool|avgpool/<fn>       every row of a 3x3 stride-2 pad-1
//                                      window over a 56 x 56 plane (items =
//                                      outputs, 28 x 28)
//   ukernel/maxpool_bwd/<fn>           every row of a 2x2 stride-2 window
//                                      over a 56 x 56 plane (items = outputs)
//   ukernel/maxpool2_planes|_bwd/<fn>  MaxPool2d(2) over 256 whole 8 x 8
//                                      planes (items = outputs, 4 x 4 each)
//   ukernel/wino_in/<fn>               16 channels x LANES tiles (items =
//                                      6x6 tiles transformed)
//   ukernel/wino_filter/<fn>           8 filters (items = 3x3 filters)
//   ukernel/wino_out/<fn>              LANES tiles (items = 4x4 tiles)
//   ukernel/wino_bfdy/<fn>             16 dy channels x LANES 4x4 tiles (items =
//                                      tiles transformed to 6x6)
//   ukernel/wino_bfout/<fn>            128 filter gradients (items = 3x3 results)
//   ukernel/dwconv_fwd|bwf|bwd/<fn>    one 56 x 56 plane, 3x3 stride 1 pad 1
//                                      (items = output pixels)
//   ukernel/pwconv/<fn>                8 row tiles over 4 tiles of NR pixels,
//                                      64 channels, all in L1/L2 (items =
//                                      multiply-adds, so GFLOP/s = 2 items/s)
//   ukernel/conv_direct_bwf/<fn>       the stem's shape: 7 taps x 64 filters over
//                                      one KC block of 384 pixels, rows of 112
//                                      (items = multiply-adds)
//   ukernel/conv_direct/<fn>           the stem's forward tile: 8 filters x 48
//                                      pixels over 3 x 7 x 7 taps from column-phase
//                                      planes, all in L1 (items = multiply-adds)
#include "bench_util.h"

extern "C" {
#include "ukernel.h"
}

#include <benchmark/benchmark.h>
#include <string>
#include <vector>

namespace {

enum Kind { MAXPOOL, AVGPOOL, MAXPOOL_BWD, MAXPOOL2, MAXPOOL2_BWD, WINO_IN, WINO_FILTER, WINO_OUT, WINO_BFDY, WINO_BFOUT, DW_FWD, DW_BWF, DW_BWD, PW, DIRECT_BWF, DIRECT };

struct Entry {
    const char *kind, *fn;
    nb_isa isa;
    Kind k;
    void (*f)(void);
    int lanes;
};

#define NBB_E(kind, name, fn, lanes) {name, #fn, NB_UK_ISA, kind, reinterpret_cast<void (*)(void)>(fn), lanes},
const Entry kEntries[] = {
#define NB_UK_MAXPOOL(fn) NBB_E(MAXPOOL, "maxpool", fn, 0)
#define NB_UK_AVGPOOL(fn) NBB_E(AVGPOOL, "avgpool", fn, 0)
#define NB_UK_MAXPOOL_BWD(fn) NBB_E(MAXPOOL_BWD, "maxpool_bwd", fn, 0)
#define NB_UK_MAXPOOL2(fwd, bwd) \
    NBB_E(MAXPOOL2, "maxpool2_planes", fwd, 0) NBB_E(MAXPOOL2_BWD, "maxpool2_planes_bwd", bwd, 0)
#define NB_UK_WINO_IN(fn, lanes) NBB_E(WINO_IN, "wino_in", fn, lanes)
#define NB_UK_WINO_FILTER(fn) NBB_E(WINO_FILTER, "wino_filter", fn, 0)
#define NB_UK_WINO_OUT(fn, lanes) NBB_E(WINO_OUT, "wino_out", fn, lanes)
#define NB_UK_WINO_BFDY(fn, lanes) NBB_E(WINO_BFDY, "wino_bfdy", fn, lanes)
#define NB_UK_WINO_BFOUT(fn) NBB_E(WINO_BFOUT, "wino_bfout", fn, 0)
#define NB_UK_DWCONV_FWD(fn) NBB_E(DW_FWD, "dwconv_fwd", fn, 0)
#define NB_UK_DWCONV_BWF(fn) NBB_E(DW_BWF, "dwconv_bwf", fn, 0)
#define NB_UK_DWCONV_BWD(fn) NBB_E(DW_BWD, "dwconv_bwd", fn, 0)
#define NB_UK_PWCONV(fn, mr, nr) NBB_E(PW, "pwconv", fn, (mr) * 1000 + (nr))
#define NB_UK_CONV_DIRECT_BWF(fn) NBB_E(DIRECT_BWF, "conv_direct_bwf", fn, 0)
#define NB_UK_CONV_DIRECT(fn) NBB_E(DIRECT, "conv_direct", fn, 0)
#include "ukernel_registry.h"
};

constexpr int64_t kPlane = 56, kChannels = 16, kFilters = 8;

int64_t run_pool(benchmark::State &state, const Entry *e) {
    const nb_pool2d_geom g = {kPlane, kPlane, 3, 3, 2, 2, 1, 1, 28};
    nbb::Buffer x{size_t(kPlane * kPlane)}, y{size_t(28 * 28)};
    std::vector<int64_t> arg(28 * 28);
    for (auto _ : state) {
        for (int64_t p = 0; p < 28; p++) {
            if (e->k == MAXPOOL)
                reinterpret_cast<nb_f32_maxpool_row_fn>(e->f)(&g, x.p, p, y.p + p * 28, arg.data() + p * 28);
            else
                reinterpret_cast<nb_f32_avgpool_row_fn>(e->f)(&g, x.p, p, y.p + p * 28);
        }
        benchmark::ClobberMemory();
    }
    return 28 * 28;
}

int64_t run_pool_bwd(benchmark::State &state, const Entry *e) {
    const nb_pool2d_geom g = {kPlane, kPlane, 2, 2, 2, 2, 0, 0, 28};
    nbb::Buffer x{size_t(kPlane * kPlane)}, y{size_t(28 * 28)}, dy{size_t(28 * 28)}, dx{size_t(kPlane * kPlane)};
    std::vector<int64_t> arg(28 * 28);
    for (int64_t p = 0; p < 28; p++) nb_f32_maxpool_ukernel__scalar(&g, x.p, p, y.p + p * 28, arg.data() + p * 28);
    for (auto _ : state) {
        for (int64_t p = 0; p < 28; p++)
            reinterpret_cast<nb_f32_maxpool_bwd_row_fn>(e->f)(&g, p, 28, dy.p + p * 28, arg.data() + p * 28, 0, dx.p);
        benchmark::ClobberMemory();
    }
    return 28 * 28;
}

// MaxPool2d(2) over whole planes: the small CNN's 8x8 -> 4x4 planes (one
// 16-lane vector a plane), kPlanes of them; items = outputs.
constexpr int64_t kPlanes = 256, kPQ = 4;
int64_t run_pool_planes(benchmark::State &state, const Entry *e) {
    const int64_t outs = kPlanes * kPQ * kPQ;
    nbb::Buffer x{size_t(4 * outs)}, y{size_t(outs)}, dy{size_t(outs)}, dx{size_t(4 * outs)};
    std::vector<int64_t> arg(static_cast<size_t>(outs));
    nb_f32_maxpool2_planes_ukernel__scalar(kPQ, kPQ, x.p, 0, outs, y.p, arg.data());
    for (auto _ : state) {
        if (e->k == MAXPOOL2)
            reinterpret_cast<nb_f32_maxpool2_planes_fn>(e->f)(kPQ, kPQ, x.p, 0, outs, y.p, arg.data());
        else
            reinterpret_cast<nb_f32_maxpool2_planes_bwd_fn>(e->f)(kPQ, kPQ, dy.p, arg.data(), 0, outs, dx.p);
        benchmark::ClobberMemory();
    }
    return outs;
}

int64_t run_wino(benchmark::State &state, const Entry *e) {
    const int64_t lanes = e->lanes > 0 ? e->lanes : 16;
    if (e->k == WINO_IN) {
        const int64_t ld = 4 * lanes + 8, plane = 6 * ld, vxi = kChannels * lanes;
        nbb::Buffer x{size_t(kChannels * plane)}, v{size_t(36 * vxi)};
        std::vector<int32_t> off(static_cast<size_t>(lanes));
        for (int64_t i = 0; i < lanes; i++) off[size_t(i)] = int32_t(4 * i);
        for (auto _ : state) {
            reinterpret_cast<nb_wino_in_fn>(e->f)(kChannels, x.p, plane, ld, off.data(), v.p, vxi);
            benchmark::ClobberMemory();
        }
        return kChannels * lanes;
    }
    if (e->k == WINO_FILTER) {
        nbb::Buffer g{size_t(kFilters * 9)}, u{size_t(36 * kFilters)};
        for (auto _ : state) {
            reinterpret_cast<nb_wino_filter_fn>(e->f)(kFilters, g.p, 9, 1, u.p, kFilters);
            benchmark::ClobberMemory();
        }
        return kFilters;
    }
    if (e->k == WINO_BFDY) {   // kChannels dy planes, `lanes` 4x4 tiles of each
        const int64_t ld = 4 * lanes + 8, plane = 4 * ld, oxi = kChannels * lanes;
        nbb::Buffer dy{size_t(kChannels * plane)}, out{size_t(36 * oxi)};
        std::vector<int32_t> off(static_cast<size_t>(lanes));
        for (int64_t i = 0; i < lanes; i++) off[size_t(i)] = int32_t(4 * i);
        for (auto _ : state) {
            reinterpret_cast<nb_wino_bfdy_fn>(e->f)(kChannels, dy.p, plane, ld, off.data(), out.p, oxi);
            benchmark::ClobberMemory();
        }
        return kChannels * lanes;
    }
    if (e->k == WINO_BFOUT) {   // kFilters x kChannels filter gradients of 36 points each
        const int64_t n = kFilters * kChannels;
        nbb::Buffer m{size_t(36 * n)}, dw{size_t(9 * n)};
        for (auto _ : state) {
            benchmark::DoNotOptimize(reinterpret_cast<nb_wino_bfout_fn>(e->f)(size_t(n), m.p, n, dw.p));
            benchmark::ClobberMemory();
        }
        return n;
    }
    nbb::Buffer m{size_t(36 * lanes)}, out{size_t(16 * lanes)};
    for (auto _ : state) {
        benchmark::DoNotOptimize(reinterpret_cast<nb_wino_out_fn>(e->f)(size_t(lanes), m.p, lanes, 0.5f, out.p));
        benchmark::ClobberMemory();
    }
    return lanes;
}

int64_t run_dwconv(benchmark::State &state, const Entry *e) {
    nb_dw_plane g = {kPlane, kPlane, kPlane, kPlane, 3, 3, 1, 1, 1, 1, 1, 1, 0, 0};
    nb_dw_plane_ranges(&g);
    const size_t n = size_t(kPlane * kPlane);
    nbb::Buffer x{n}, y{n}, w{9}, zero(size_t(kPlane + 64), 0.0f, 0.0f);
    for (auto _ : state) {
        if (e->k == DW_FWD)
            reinterpret_cast<nb_dwconv_fwd_fn>(e->f)(&g, x.p, w.p, 0.25f, 0, zero.p, y.p);
        else if (e->k == DW_BWF)
            reinterpret_cast<nb_dwconv_bwf_fn>(e->f)(&g, x.p, y.p, zero.p, 0, w.p);
        else
            reinterpret_cast<nb_dwconv_bwd_fn>(e->f)(&g, y.p, w.p, 0, x.p);
        benchmark::ClobberMemory();
    }
    return int64_t(n);
}

int64_t run_pwconv(benchmark::State &state, const Entry *e) {
    const int64_t mr = e->lanes / 1000, nr = e->lanes % 1000, k = 64, rows = 8 * mr, px = 4 * nr;
    nbb::Buffer w{size_t(rows * k)}, x{size_t(k * px)}, y{size_t(rows * px)};
    const auto fn = reinterpret_cast<nb_pwconv_fn>(e->f);
    for (auto _ : state) {
        for (int64_t j = 0; j < px; j += nr)
            for (int64_t i = 0; i < rows; i += mr)
                fn(size_t(mr), size_t(nr), size_t(k), w.p + i * k, x.p + j, px, y.p + i * px + j, px,
                   nullptr, 0, nullptr, nullptr);
        benchmark::ClobberMemory();
    }
    return rows * px * k;
}

int64_t run_direct_bwf(benchmark::State &state, const Entry *e) {
    // Phase-plane rows of 115 floats, every second row read (stride 2).
    const int64_t taps = 7, kn = 64, npix = 384, Q = 112, xrow = 230;
    nbb::Buffer x{size_t(5 * xrow + 128)}, dyt{size_t(npix * kn)}, c{size_t(taps * 64)};
    const float *xs[7];
    for (int64_t t = 0; t < taps; t++) xs[t] = x.p + t % 2 * 115 + t / 2;
    const auto fn = reinterpret_cast<nb_conv_direct_bwf_ft *>(e->f);
    for (auto _ : state) {
        fn(size_t(taps), size_t(kn), size_t(npix), 0, size_t(Q), xs, xrow, dyt.p, kn, c.p, 0);
        benchmark::ClobberMemory();
    }
    return taps * kn * npix;
}

int64_t run_direct(benchmark::State &state, const Entry *e) {
    // The stem (3 channels, 7x7, stride 2): tap (c, ky, kx) reads column
    // phase kx % 2 of row ky of channel c's plane, kx / 2 floats in; rows of
    // two 115-float phases, so the 48 pixels' loads are unaligned as in the layer.
    const int64_t taps = 147, xrow = 230, plane = 7 * xrow + 64;
    nbb::Buffer x{size_t(3 * plane + 64)}, wp{size_t(taps * 8)}, y{size_t(8 * 48)};
    std::vector<int32_t> toff(taps);
    for (int64_t t = 0; t < taps; t++) {
        const int64_t c = t / 49, ky = t % 49 / 7, kx = t % 7;
        toff[size_t(t)] = int32_t(c * plane + ky * xrow + kx % 2 * 115 + kx / 2);
    }
    const float *base[3] = {x.p, x.p + 16, x.p + 32};
    const auto fn = reinterpret_cast<nb_conv_direct_ft *>(e->f);
    for (auto _ : state) {
        fn(8, 3, size_t(taps), toff.data(), wp.p, base, y.p, 48, nullptr);
        benchmark::ClobberMemory();
    }
    return taps * 8 * 48;
}

void bm_entry(benchmark::State &state, const Entry *e) {
    if (!nb_isa_supported(e->isa)) {
        state.SkipWithError("isa unsupported");
        return;
    }
    int64_t items;
    switch (e->k) {
    case MAXPOOL:
    case AVGPOOL: items = run_pool(state, e); break;
    case MAXPOOL_BWD: items = run_pool_bwd(state, e); break;
    case MAXPOOL2:
    case MAXPOOL2_BWD: items = run_pool_planes(state, e); break;
    case WINO_IN:
    case WINO_FILTER:
    case WINO_OUT:
    case WINO_BFDY:
    case WINO_BFOUT: items = run_wino(state, e); break;
    case PW: items = run_pwconv(state, e); break;
    case DIRECT_BWF: items = run_direct_bwf(state, e); break;
    case DIRECT: items = run_direct(state, e); break;
    default: items = run_dwconv(state, e); break;
    }
    state.SetItemsProcessed(int64_t(state.iterations()) * items);
}

const int registered = nbb::register_ukernels(kEntries, bm_entry);

}  // namespace
