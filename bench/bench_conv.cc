// 2-D convolution: conv2d/<impl>/<layer> (forward), conv2d_bwd_data/...,
// conv2d_bwd_filter/... on four typical layers. Impls:
//   nabla        the active ISA; plain NCHW/OIHW in and out on every call.
//   ref          the reference backend, same calling convention.
//   onednn       (built with oneDNN, NB_HAVE_DNNL) its convolution
//                primitive with the layouts it picks itself (format "any";
//                here nhwc for forward under AVX-512, nChw16c for backward,
//                nChw8c under AVX2, plain nchw for a few). Every input is
//                reordered into them once, outside the timed loop, and only
//                the primitive's execution is timed: oneDNN's best case, a
//                caller whose whole network stays in oneDNN's layouts.
//   onednn_nchw  the same primitive as a caller holding plain NCHW tensors
//                pays for it on every call, as PyTorch eager does: inside
//                the timed loop the activations are reordered from nchw into
//                the primitive's layout (forward x, backward-data dy,
//                backward-filter x and dy), the primitive runs, and its
//                results are reordered back to plain nchw / oihw / x (y, dx,
//                dw and dbias). Weights are reordered once, outside the
//                loop, as PyTorch does for its weights. A reorder exists
//                only where the chosen layout differs from the plain one.
//                Same arguments in and out as nabla's entry points.
// oneDNN picks its ISA at run time (AVX-512 on this machine; nabla has only
// AVX2 kernels). DNNL_MAX_CPU_ISA=AVX2 in the environment, read once per
// process, caps it at nabla's ISA: scripts/run.sh runs both oneDNN impls a
// second time that way, and the report calls them onednn_avx2 and
// onednn_nchw_avx2. The benchmark's label names the ISA oneDNN dispatched to
// (dnnl_get_effective_cpu_isa), so a cap that did not take is visible.
// One thread for every impl (nb_set_num_threads(1); oneDNN runs on OpenMP,
// so omp_set_num_threads(1): this is the bench program, not the library),
// rates from CPU time, which other processes on a shared machine disturb
// less than real time.
// NB_BENCH_CONV_THREADS=t runs every impl on t threads instead (scripts
// compare 1 and 2 threads that way). Two more impls run nabla's active ISA
// with NABLA_CONV_ALGO forced (read by the library on every call):
//   nabla_gemm, nabla_winograd   (Winograd F(4x4, 3x3): 3x3 stride-1 layers;
//                                 elsewhere the same as nabla_gemm).
//   nabla_packed (forward and backward-data) the active ISA with the
//                weights packed once, outside the timed loop
//                (nb_sconv2d_pack_weights: for Winograd the transformed
//                filters): the peer of onednn's weights reordered once.
//   xnnpack      (forward only; built with XNNPACK, NB_HAVE_XNNPACK) its
//                convolution operator, NHWC in and out (bench_conv_xnnpack.cc).
// Layers with at least 64 channels, and the depthwise ones, also run nabla
// on 2 threads (<layer>_t2, real time: the report compares it with its 1
// thread). The reference backend runs only
// the first four layers (it is not a peer); the training batch runs a few
// iterations.
// FLOPS counter (kIsRate) = 2 N K P Q (C/groups) R S per call, the same for
// all three directions and all impls (each is one GEMM of that size per
// image and group; onednn_nchw's reorders count as time, not as flops).
#include "bench_util.h"

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#ifdef NB_HAVE_DNNL
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#endif

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
    // ResNet-50 bottleneck 1x1s, 3x3 stride 2, MobileNetV2's depthwise 3x3
    // and the 1x1s around them, a training batch.
    {"n1_c256_56x56_k64_1x1",       {1, 256, 56, 56, 64, 1, 1, 1, 1, 0, 0, 1, 1, 1}},
    {"n8_c256_56x56_k64_1x1",       {8, 256, 56, 56, 64, 1, 1, 1, 1, 0, 0, 1, 1, 1}},
    {"n1_c64_56x56_k256_1x1",       {1, 64, 56, 56, 256, 1, 1, 1, 1, 0, 0, 1, 1, 1}},
    {"n8_c64_56x56_k256_1x1",       {8, 64, 56, 56, 256, 1, 1, 1, 1, 0, 0, 1, 1, 1}},
    {"n1_c128_56x56_k128_3x3_s2_p1", {1, 128, 56, 56, 128, 3, 3, 2, 2, 1, 1, 1, 1, 1}},
    {"n1_c24_56x56_k144_1x1",       {1, 24, 56, 56, 144, 1, 1, 1, 1, 0, 0, 1, 1, 1}},
    {"n1_c144_56x56_dw3x3_p1",      {1, 144, 56, 56, 144, 3, 3, 1, 1, 1, 1, 1, 1, 144}},
    {"n1_c144_56x56_k24_1x1",       {1, 144, 56, 56, 24, 1, 1, 1, 1, 0, 0, 1, 1, 1}},
    {"n1_c32_112x112_dw3x3_p1",     {1, 32, 112, 112, 32, 3, 3, 1, 1, 1, 1, 1, 1, 32}},
    {"n1_c32_112x112_k16_1x1",      {1, 32, 112, 112, 16, 1, 1, 1, 1, 0, 0, 1, 1, 1}},
    {"n32_c64_56x56_k64_3x3_p1",    {32, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1}},
};
const int kRefLayers = 4;   // the reference backend runs the first four

#ifdef NB_HAVE_XNNPACK
}  // namespace
void nbb_run_xnnpack_conv(benchmark::State &state, const nb_conv2d_desc &d, double flop);
namespace {
#endif

enum Direction { kForward, kBackwardData, kBackwardFilter };
enum Impl { kNabla, kRef, kOnednn, kOnednnNchw, kNablaGemm, kNablaWinograd, kXnnpack, kNablaPacked };
const char *const kImplNames[] = {"nabla", "ref", "onednn", "onednn_nchw", "nabla_gemm",
                                  "nabla_winograd", "xnnpack", "nabla_packed"};

// Threads of every impl: NB_BENCH_CONV_THREADS, else 1.
int bench_threads() {
    const char *e = getenv("NB_BENCH_CONV_THREADS");
    const int t = e ? atoi(e) : 1;
    return t > 0 ? t : 1;
}

double conv_flop(const nb_conv2d_desc &d, int64_t P, int64_t Q) {
    return 2.0 * double(d.n) * double(d.k) * double(P) * double(Q) * double(d.c / d.groups) *
           double(d.r) * double(d.s);
}

// packed: nabla_packed, the weights packed once before the timed loop
// (forward and backward-data).
void run_nabla(benchmark::State &state, const nb_conv2d_desc &d, Direction dir, bool ref,
               int threads = 1, bool packed = false) {
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
    nb_set_num_threads(threads > 1 ? threads : bench_threads());
    nb_conv2d_packed *pw = nullptr;
    if (packed && nb_sconv2d_pack_weights(&d, w.p, dir == kForward ? NB_CONV_PACK_FORWARD
                                                                   : NB_CONV_PACK_BACKWARD_DATA,
                                          &pw) != NB_OK) {
        nb_set_num_threads(0);
        state.SkipWithError(nb_last_error());
        return;
    }
    for (auto _ : state) {
        nb_status s = NB_OK;
        switch (dir) {
        case kForward:
            s = pw ? nb_sconv2d_forward_packed(&d, x.p, pw, bias.p, y.p)
                   : nb_sconv2d_forward(&d, x.p, w.p, bias.p, y.p);
            break;
        case kBackwardData:
            s = pw ? nb_sconv2d_backward_data_packed(&d, y.p, pw, x.p)
                   : nb_sconv2d_backward_data(&d, y.p, w.p, x.p);
            break;
        case kBackwardFilter: s = nb_sconv2d_backward_filter(&d, x.p, y.p, w.p, dbias.p); break;
        }
        if (s != NB_OK) {
            state.SkipWithError(nb_last_error());
            break;
        }
        benchmark::ClobberMemory();
    }
    nb_conv2d_packed_free(pw);
    nb_set_num_threads(0);
    state.counters["FLOPS"] =
        benchmark::Counter(conv_flop(d, P, Q) * double(state.iterations()), benchmark::Counter::kIsRate);
}

#ifdef NB_HAVE_DNNL

// Everything one oneDNN primitive needs, released in the destructor.
struct Dnnl {
    dnnl_engine_t engine = nullptr;
    dnnl_stream_t stream = nullptr;
    std::vector<dnnl_primitive_desc_t> pds;
    std::vector<dnnl_primitive_t> prims;
    std::vector<dnnl_memory_t> mems;
    ~Dnnl() {
        for (auto p : prims) dnnl_primitive_destroy(p);
        for (auto p : pds) dnnl_primitive_desc_destroy(p);
        for (auto m : mems) dnnl_memory_destroy(m);
        if (stream) dnnl_stream_destroy(stream);
        if (engine) dnnl_engine_destroy(engine);
    }
    dnnl_memory_t mem(const dnnl_memory_desc_t *md, void *handle) {
        dnnl_memory_t m = nullptr;
        if (dnnl_memory_create(&m, md, engine, handle) != dnnl_success) return nullptr;
        mems.push_back(m);
        return m;
    }
    // A memory of the primitive's layout `md`, filled from the plain buffer
    // `user` (layout `user_md`) by a reorder run once, here.
    dnnl_memory_t from_user(const dnnl_memory_desc_t *user_md, float *user,
                            const dnnl_memory_desc_t *md) {
        dnnl_memory_t u = mem(user_md, user), m = mem(md, DNNL_MEMORY_ALLOCATE);
        if (!u || !m) return nullptr;
        dnnl_primitive_desc_t rpd = nullptr;
        dnnl_primitive_t r = nullptr;
        if (dnnl_reorder_primitive_desc_create(&rpd, user_md, engine, md, engine, nullptr) != dnnl_success)
            return nullptr;
        pds.push_back(rpd);
        if (dnnl_primitive_create(&r, rpd) != dnnl_success) return nullptr;
        prims.push_back(r);
        const dnnl_exec_arg_t args[] = {{DNNL_ARG_FROM, u}, {DNNL_ARG_TO, m}};
        if (dnnl_primitive_execute(r, stream, 2, args) != dnnl_success) return nullptr;
        dnnl_stream_wait(stream);
        return m;
    }
    // A reorder between the plain buffer `user` (layout `user_md`) and a
    // memory of the primitive's layout `md`, run on every call: into the
    // primitive's layout when `in`, else out of it. Returns the memory the
    // primitive reads or writes: the user's buffer itself when the layouts
    // are the same (no reorder; a no-op one would still cost a call).
    struct Step {
        dnnl_primitive_t prim;
        dnnl_memory_t from, to;
    };
    std::vector<Step> before, after;
    dnnl_memory_t per_call(const dnnl_memory_desc_t *user_md, float *user, const dnnl_memory_desc_t *md,
                           bool in) {
        dnnl_memory_t u = mem(user_md, user);
        if (!u || dnnl_memory_desc_equal(user_md, md)) return u;
        dnnl_memory_t m = mem(md, DNNL_MEMORY_ALLOCATE);
        if (!m) return nullptr;
        dnnl_primitive_desc_t rpd = nullptr;
        dnnl_primitive_t r = nullptr;
        const dnnl_memory_desc_t *from = in ? user_md : md, *to = in ? md : user_md;
        if (dnnl_reorder_primitive_desc_create(&rpd, from, engine, to, engine, nullptr) != dnnl_success)
            return nullptr;
        pds.push_back(rpd);
        if (dnnl_primitive_create(&r, rpd) != dnnl_success) return nullptr;
        prims.push_back(r);
        (in ? before : after).push_back(in ? Step{r, u, m} : Step{r, m, u});
        return m;
    }
    bool run_steps(const std::vector<Step> &steps) {
        for (const Step &st : steps) {
            const dnnl_exec_arg_t args[] = {{DNNL_ARG_FROM, st.from}, {DNNL_ARG_TO, st.to}};
            if (dnnl_primitive_execute(st.prim, stream, 2, args) != dnnl_success) return false;
        }
        return true;
    }
};

const char *isa_name(dnnl_cpu_isa_t isa) {
    switch (isa) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "other";
    }
}

// `nchw`: the onednn_nchw impl (activations reordered on every call), else
// onednn (everything reordered once, before timing).
// The memory descriptors and geometry of one oneDNN convolution: the
// user's plain layouts (NCHW, OIHW) and format_tag_any for oneDNN's choice.
struct ConvMds {
    dnnl_memory_desc_t x_user, w_user, b_user, y_user, x_any, w_any, b_any, y_any;
    dnnl_dims_t strides, dil, pad, pad_r;
};

ConvMds conv_mds(const nb_conv2d_desc &d, int64_t P, int64_t Q) {
    ConvMds m;
    const int64_t G = d.groups;
    const dnnl_dims_t xd = {d.n, d.c, d.h, d.w}, yd = {d.n, d.k, P, Q}, bd = {d.k};
    const dnnl_dims_t wd = {G, d.k / G, d.c / G, d.r, d.s};
    const int wnd = G == 1 ? 4 : 5;
    const dnnl_dim_t *wdims = G == 1 ? wd + 1 : wd;
    m.strides[0] = d.stride_h; m.strides[1] = d.stride_w;
    m.dil[0] = d.dilation_h - 1; m.dil[1] = d.dilation_w - 1;
    m.pad[0] = d.pad_h; m.pad[1] = d.pad_w;
    // Right padding so that oneDNN's output extent matches P, Q exactly.
    m.pad_r[0] = (P - 1) * d.stride_h + (d.r - 1) * d.dilation_h + 1 - d.h - d.pad_h;
    m.pad_r[1] = (Q - 1) * d.stride_w + (d.s - 1) * d.dilation_w + 1 - d.w - d.pad_w;
    dnnl_memory_desc_init_by_tag(&m.x_user, 4, xd, dnnl_f32, dnnl_nchw);
    dnnl_memory_desc_init_by_tag(&m.y_user, 4, yd, dnnl_f32, dnnl_nchw);
    dnnl_memory_desc_init_by_tag(&m.w_user, wnd, wdims, dnnl_f32, G == 1 ? dnnl_oihw : dnnl_goihw);
    dnnl_memory_desc_init_by_tag(&m.b_user, 1, bd, dnnl_f32, dnnl_x);
    dnnl_memory_desc_init_by_tag(&m.x_any, 4, xd, dnnl_f32, dnnl_format_tag_any);
    dnnl_memory_desc_init_by_tag(&m.y_any, 4, yd, dnnl_f32, dnnl_format_tag_any);
    dnnl_memory_desc_init_by_tag(&m.w_any, wnd, wdims, dnnl_f32, dnnl_format_tag_any);
    dnnl_memory_desc_init_by_tag(&m.b_any, 1, bd, dnnl_f32, dnnl_format_tag_any);
    return m;
}

// The primitive of one direction (its descriptors kept in e); an error
// string or nullptr.
const char *conv_primitive(Dnnl &e, ConvMds &m, Direction dir, dnnl_primitive_t *prim,
                           dnnl_primitive_desc_t *pd_out) {
    if (dnnl_engine_create(&e.engine, dnnl_cpu, 0) != dnnl_success ||
        dnnl_stream_create(&e.stream, e.engine, dnnl_stream_default_flags) != dnnl_success)
        return "oneDNN engine";
    dnnl_convolution_desc_t fd;
    const dnnl_prop_kind_t prop = dir == kForward ? dnnl_forward_inference : dnnl_forward_training;
    dnnl_primitive_desc_t fpd = nullptr;
    if (dnnl_dilated_convolution_forward_desc_init(&fd, prop, dnnl_convolution_direct, &m.x_any, &m.w_any,
                                                   &m.b_any, &m.y_any, m.strides, m.dil, m.pad,
                                                   m.pad_r) != dnnl_success ||
        dnnl_primitive_desc_create(&fpd, &fd, nullptr, e.engine, nullptr) != dnnl_success)
        return "oneDNN forward descriptor";
    e.pds.push_back(fpd);
    dnnl_primitive_desc_t pd = fpd;
    if (dir == kBackwardData) {
        dnnl_convolution_desc_t bdd;
        if (dnnl_dilated_convolution_backward_data_desc_init(&bdd, dnnl_convolution_direct, &m.x_any, &m.w_any,
                                                             &m.y_any, m.strides, m.dil, m.pad,
                                                             m.pad_r) != dnnl_success ||
            dnnl_primitive_desc_create(&pd, &bdd, nullptr, e.engine, fpd) != dnnl_success)
            return "oneDNN backward-data descriptor";
        e.pds.push_back(pd);
    } else if (dir == kBackwardFilter) {
        dnnl_convolution_desc_t bwd;
        if (dnnl_dilated_convolution_backward_weights_desc_init(&bwd, dnnl_convolution_direct, &m.x_any,
                                                                &m.w_any, &m.b_any, &m.y_any, m.strides,
                                                                m.dil, m.pad, m.pad_r) != dnnl_success ||
            dnnl_primitive_desc_create(&pd, &bwd, nullptr, e.engine, fpd) != dnnl_success)
            return "oneDNN backward-weights descriptor";
        e.pds.push_back(pd);
    }
    if (dnnl_primitive_create(prim, pd) != dnnl_success) return "oneDNN primitive";
    e.prims.push_back(*prim);
    *pd_out = pd;
    return nullptr;
}

// The plain buffers of one call.
struct ConvBuffers {
    float *x, *w, *bias, *y, *dbias;
};

// The execution arguments of one direction: activations and results once
// here (onednn) or on every call (onednn_nchw, into the user's plain
// buffers); an error string or nullptr.
const char *conv_args(Dnnl &e, ConvMds &m, dnnl_primitive_desc_t pd, Direction dir, bool nchw,
                      const ConvBuffers &b, std::vector<dnnl_exec_arg_t> &args) {
    auto md = [pd](dnnl_query_t q, int i = 0) { return dnnl_primitive_desc_query_md(pd, q, i); };
    auto in = [&](const dnnl_memory_desc_t *user_md, float *user, const dnnl_memory_desc_t *mm) {
        return nchw ? e.per_call(user_md, user, mm, true) : e.from_user(user_md, user, mm);
    };
    auto out = [&](const dnnl_memory_desc_t *user_md, float *user, const dnnl_memory_desc_t *mm) {
        return nchw ? e.per_call(user_md, user, mm, false) : e.mem(mm, DNNL_MEMORY_ALLOCATE);
    };
    if (dir == kForward) {
        dnnl_memory_t xm = in(&m.x_user, b.x, md(dnnl_query_src_md));
        dnnl_memory_t wm = e.from_user(&m.w_user, b.w, md(dnnl_query_weights_md));
        dnnl_memory_t bm = e.from_user(&m.b_user, b.bias, md(dnnl_query_weights_md, 1));
        dnnl_memory_t ym = out(&m.y_user, b.y, md(dnnl_query_dst_md));
        if (!xm || !wm || !bm || !ym) return "oneDNN memory";
        args = {{DNNL_ARG_SRC, xm}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_BIAS, bm}, {DNNL_ARG_DST, ym}};
    } else if (dir == kBackwardData) {
        dnnl_memory_t dym = in(&m.y_user, b.y, md(dnnl_query_diff_dst_md));
        dnnl_memory_t wm = e.from_user(&m.w_user, b.w, md(dnnl_query_weights_md));
        dnnl_memory_t dxm = out(&m.x_user, b.x, md(dnnl_query_diff_src_md));
        if (!dym || !wm || !dxm) return "oneDNN memory";
        args = {{DNNL_ARG_DIFF_DST, dym}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DIFF_SRC, dxm}};
    } else {
        dnnl_memory_t xm = in(&m.x_user, b.x, md(dnnl_query_src_md));
        dnnl_memory_t dym = in(&m.y_user, b.y, md(dnnl_query_diff_dst_md));
        dnnl_memory_t dwm = out(&m.w_user, b.w, md(dnnl_query_diff_weights_md));
        dnnl_memory_t dbm = out(&m.b_user, b.dbias, md(dnnl_query_diff_weights_md, 1));
        if (!xm || !dym || !dwm || !dbm) return "oneDNN memory";
        args = {{DNNL_ARG_SRC, xm}, {DNNL_ARG_DIFF_DST, dym}, {DNNL_ARG_DIFF_WEIGHTS, dwm},
                {DNNL_ARG_DIFF_BIAS, dbm}};
    }
    const dnnl_memory_desc_t *s = md(dnnl_query_scratchpad_md);
    if (s && s->ndims > 0) args.push_back({DNNL_ARG_SCRATCHPAD, e.mem(s, DNNL_MEMORY_ALLOCATE)});
    return nullptr;
}

void run_onednn(benchmark::State &state, const nb_conv2d_desc &d, Direction dir, bool nchw) {
    int64_t P = 0, Q = 0;
    if (nb_conv2d_out_shape(&d, &P, &Q) != NB_OK) {
        state.SkipWithError(nb_last_error());
        return;
    }
    const int saved_threads = omp_get_max_threads();
    omp_set_num_threads(bench_threads());
    Dnnl e;
    ConvMds m = conv_mds(d, P, Q);
    const size_t nx = size_t(d.n * d.c * d.h * d.w);
    const size_t nw = size_t(d.k * (d.c / d.groups) * d.r * d.s);
    const size_t ny = size_t(d.n * d.k * P * Q);
    nbb::Buffer x(nx, -1, 1, 1), w(nw, -1, 1, 2), bias(size_t(d.k), -1, 1, 3), y(ny, -1, 1, 4);
    nbb::Buffer dbias(size_t(d.k));
    dnnl_primitive_t prim = nullptr;
    dnnl_primitive_desc_t pd = nullptr;
    std::vector<dnnl_exec_arg_t> args;
    const char *err = conv_primitive(e, m, dir, &prim, &pd);
    if (!err) err = conv_args(e, m, pd, dir, nchw, ConvBuffers{x.p, w.p, bias.p, y.p, dbias.p}, args);
    if (err) {
        omp_set_num_threads(saved_threads);
        state.SkipWithError(err);
        return;
    }
    for (auto _ : state) {
        if (!e.run_steps(e.before) ||
            dnnl_primitive_execute(prim, e.stream, int(args.size()), args.data()) != dnnl_success ||
            !e.run_steps(e.after)) {
            state.SkipWithError("oneDNN execute");
            break;
        }
        dnnl_stream_wait(e.stream);
        benchmark::ClobberMemory();
    }
    omp_set_num_threads(saved_threads);
    state.SetLabel(std::string("isa=") + isa_name(dnnl_get_effective_cpu_isa()) +
                   (nchw ? " reorders=" + std::to_string(e.before.size() + e.after.size()) : ""));
    state.counters["FLOPS"] =
        benchmark::Counter(conv_flop(d, P, Q) * double(state.iterations()), benchmark::Counter::kIsRate);
}

#endif

// The forward XNNPACK peer, and nabla on 2 threads (see the top).
void register_more(const char *fwd, const char *bwd_data, const char *bwd_filter) {
    const Direction dirs[] = {kForward, kBackwardData, kBackwardFilter};
    const char *const families[] = {fwd, bwd_data, bwd_filter};
    for (const Layer &layer : kLayers) {
        const nb_conv2d_desc d = layer.d;
        int64_t P = 0, Q = 0;
        nb_conv2d_out_shape(&d, &P, &Q);
        const double flop = conv_flop(d, P, Q);
        (void)flop;
#ifdef NB_HAVE_XNNPACK
        const std::string xn = std::string(fwd) + "/xnnpack/" + layer.name;
        auto *b = benchmark::RegisterBenchmark(xn.c_str(), [d, flop](benchmark::State &st) {
            nbb_run_xnnpack_conv(st, d, flop);
        });
        b->Unit(benchmark::kMillisecond);
        if (d.n >= 32) b->Iterations(3);
#endif
        const bool depthwise = d.groups == d.c && d.c > 1;
        // Issue 11's 2-thread target: every layer with at least 64 channels
        // (and every depthwise layer).
        if (!depthwise && d.c < 64 && d.k < 64) continue;
        for (int i = 0; i < 3; i++) {
            const Direction dr = dirs[i];
            const std::string name = std::string(families[i]) + "/nabla/" + layer.name + "_t2";
            benchmark::RegisterBenchmark(name.c_str(), [d, dr](benchmark::State &st) {
                run_nabla(st, d, dr, false, 2);
            })->Unit(benchmark::kMillisecond)->UseRealTime();
        }
    }
}

int register_all() {
    static const struct {
        const char *family;
        Direction dir;
    } kDirs[] = {{"conv2d", kForward}, {"conv2d_bwd_data", kBackwardData},
                 {"conv2d_bwd_filter", kBackwardFilter}};
#ifdef NB_HAVE_DNNL
    const int impls = 4;
#else
    const int impls = 2;
#endif
    for (const auto &dir : kDirs)
        for (int li = 0; li < int(sizeof kLayers / sizeof kLayers[0]); li++)
            for (int impl = 0; impl < impls; impl++) {
                const Layer &layer = kLayers[li];
                if (impl == kRef && li >= kRefLayers) continue;
                const std::string name = std::string(dir.family) + "/" + kImplNames[impl] + "/" + layer.name;
                const nb_conv2d_desc d = layer.d;
                const Direction dr = dir.dir;
                const Impl im = Impl(impl);
                auto *b = benchmark::RegisterBenchmark(name.c_str(), [d, dr, im](benchmark::State &st) {
#ifdef NB_HAVE_DNNL
                    if (im == kOnednn || im == kOnednnNchw) {
                        run_onednn(st, d, dr, im == kOnednnNchw);
                        return;
                    }
#endif
                    run_nabla(st, d, dr, im == kRef);
                });
                b->Unit(benchmark::kMillisecond);
                if (d.n >= 32) b->Iterations(3);   // the training batch: ~0.1 s a call
            }
    // nabla with prepacked weights, forward and backward-data.
    for (int di = 0; di < 2; di++)
        for (const Layer &layer : kLayers) {
            const std::string name = std::string(kDirs[di].family) + "/nabla_packed/" + layer.name;
            const nb_conv2d_desc d = layer.d;
            const Direction dr = kDirs[di].dir;
            auto *b = benchmark::RegisterBenchmark(name.c_str(), [d, dr](benchmark::State &st) {
                run_nabla(st, d, dr, false, 1, true);
            });
            b->Unit(benchmark::kMillisecond);
            if (d.n >= 32) b->Iterations(3);
        }
    // nabla with the algorithm forced (NABLA_CONV_ALGO, set around the run).
    for (const auto &dir : kDirs)
        for (const Layer &layer : kLayers)
            for (const Impl im : {kNablaGemm, kNablaWinograd}) {
                const std::string name = std::string(dir.family) + "/" + kImplNames[im] + "/" + layer.name;
                const nb_conv2d_desc d = layer.d;
                const Direction dr = dir.dir;
                benchmark::RegisterBenchmark(name.c_str(), [d, dr, im](benchmark::State &st) {
                    setenv("NABLA_CONV_ALGO", im == kNablaGemm ? "gemm" : "winograd", 1);
                    run_nabla(st, d, dr, false);
                    unsetenv("NABLA_CONV_ALGO");
                })->Unit(benchmark::kMillisecond);
            }
    register_more(kDirs[0].family, kDirs[1].family, kDirs[2].family);
    return 0;
}

const int registered = register_all();

}  // namespace
