// The XNNPACK peer of the forward convolution benchmarks (bench_conv.cc):
// xnn_create_convolution2d_nhwc_f32 from Debian's libxnnpack-dev (its 2022
// API: create, setup with the pointers, run), NHWC in and out (its own
// layout: the caller holds NHWC tensors, no reorder is timed), one thread
// (a NULL pthreadpool). One channel a group runs with
// XNN_FLAG_DEPTHWISE_CONVOLUTION (weights R x S x K), as TFLite calls it.
// Only xnn_run_operator is timed. Built when the library and its header
// are found (NB_HAVE_XNNPACK).
#ifdef NB_HAVE_XNNPACK
#include "bench_util.h"

#include <benchmark/benchmark.h>

#include <cmath>

#include <xnnpack.h>

void nbb_run_xnnpack_conv(benchmark::State &state, const nb_conv2d_desc &d, double flop) {
    static const bool init = xnn_initialize(nullptr) == xnn_status_success;
    int64_t P = 0, Q = 0;
    if (!init || nb_conv2d_out_shape(&d, &P, &Q) != NB_OK) {
        state.SkipWithError(init ? nb_last_error() : "xnn_initialize");
        return;
    }
    const int64_t G = d.groups, cg = d.c / G, kg = d.k / G;
    const bool dw = cg == 1 && G > 1;
    // XNN_EXTRA_BYTES of slack after every tensor XNNPACK reads.
    const size_t slack = XNN_EXTRA_BYTES / sizeof(float);
    nbb::Buffer x(size_t(d.n * d.h * d.w * d.c) + slack, -1, 1, 1);
    nbb::Buffer w(size_t(d.k * cg * d.r * d.s) + slack, -1, 1, 2);
    nbb::Buffer bias(size_t(d.k) + slack, -1, 1, 3), y(size_t(d.n * P * Q * d.k) + slack);
    // Bottom/right padding so that the output extent is exactly P x Q.
    const int64_t pb = (P - 1) * d.stride_h + (d.r - 1) * d.dilation_h + 1 - d.h - d.pad_h;
    const int64_t pr = (Q - 1) * d.stride_w + (d.s - 1) * d.dilation_w + 1 - d.w - d.pad_w;
    xnn_operator_t op = nullptr;
    if (pb < 0 || pr < 0 ||
        xnn_create_convolution2d_nhwc_f32(
            uint32_t(d.pad_h), uint32_t(pr), uint32_t(pb), uint32_t(d.pad_w), uint32_t(d.r),
            uint32_t(d.s), uint32_t(d.stride_h), uint32_t(d.stride_w), uint32_t(d.dilation_h),
            uint32_t(d.dilation_w), uint32_t(G), size_t(cg), size_t(kg), size_t(d.c), size_t(d.k),
            w.p, bias.p, -INFINITY, INFINITY, dw ? XNN_FLAG_DEPTHWISE_CONVOLUTION : 0,
            &op) != xnn_status_success) {
        state.SkipWithError("xnn_create_convolution2d_nhwc_f32");
        return;
    }
    if (xnn_setup_convolution2d_nhwc_f32(op, size_t(d.n), size_t(d.h), size_t(d.w), x.p, y.p,
                                         nullptr) != xnn_status_success) {
        xnn_delete_operator(op);
        state.SkipWithError("xnn_setup_convolution2d_nhwc_f32");
        return;
    }
    for (auto _ : state) {
        if (xnn_run_operator(op, nullptr) != xnn_status_success) {
            state.SkipWithError("xnn_run_operator");
            break;
        }
        benchmark::ClobberMemory();
    }
    xnn_delete_operator(op);
    state.counters["FLOPS"] = benchmark::Counter(flop * double(state.iterations()),
                                                 benchmark::Counter::kIsRate);
}
#endif
