/* What the convolution driver's files share (private): src/conv_driver.c
 * (the passes, the column-block paths), src/conv_bwd_filter.c
 * (backward-filter), src/conv_tasks.c (the task runner) and
 * src/conv_implicit.c (the implicit-im2col forward path). */
#ifndef NB_CONV_INTERNAL_H
#define NB_CONV_INTERNAL_H


#include <stdint.h>

#include "conv_driver.h"
#include "internal.h"
#include "parallel.h"

typedef struct {
    int64_t P, Q, G, cg, kg, L, PQ, HW;
    int pointwise;   /* 1x1, stride 1, no padding: the column matrix is x */
} nb_conv_geom;

static inline nb_conv_geom nb_conv_geom_of(const nb_conv2d_desc *d) {
    nb_conv_geom g;
    nb_conv_out_dims(d, &g.P, &g.Q);
    g.G = d->groups;
    g.cg = d->c / g.G;
    g.kg = d->k / g.G;
    g.L = g.cg * d->r * d->s;
    g.PQ = g.P * g.Q;
    g.HW = d->h * d->w;
    g.pointwise = d->r == 1 && d->s == 1 && d->stride_h == 1 && d->stride_w == 1 &&
                  d->pad_h == 0 && d->pad_w == 0;
    return g;
}

/* Threads for `tasks` independent tasks of n k P Q L multiply-adds in all:
   1 when they should rather run one after the other with threaded GEMMs
   (too few tasks to balance). */
int nb_conv_task_threads(const nb_conv_desc *cd, int64_t tasks, const nb_conv2d_desc *d,
                         const nb_conv_geom *g);

/* count buffers of rows x cols floats, back to back, from this thread's
   scratch slot (scratch.h; release with nb_scratch_done(p, *owned)); NULL
   on overflow/OOM. */
float *nb_conv_scratch_floats(int slot, int64_t count, int64_t rows, int64_t cols, int *owned);

/* One task of a pass: writes only its own outputs; col is the calling
   thread's share of the pass's scratch. */
typedef nb_status (*nb_conv_task_fn)(const void *ctx, int64_t task, float *col);

/* The largest SGEMM (cd->sgemm, alpha != 0) the tasks of a pass call. */
typedef struct {
    int ta, tb;
    int64_t M, N, K;
} nb_conv_gemm_shape;

/* Runs tasks 0..tasks-1 over nt threads (each with its own rows x cols
   floats of scratch unless need_col is 0) or in order on this one; returns
   the first failure. All the working memory is taken before any task
   writes an output: the scratch, and on every thread that runs tasks the
   SGEMM's packing buffer for `gemm` (NULL: the tasks call no SGEMM). */
nb_status nb_conv_run_tasks(const nb_conv_desc *cd, int nt, int64_t tasks, int64_t rows,
                            int64_t cols, int need_col, const nb_conv_gemm_shape *gemm,
                            nb_conv_task_fn fn, const void *ctx);

/* Member tid of nt's share of a pass's set-up (packing the filters), run
   by each thread of the team before its tasks (on one thread: pre(ctx, 0,
   1)); the tasks start after every member's share is done. */
typedef void (*nb_conv_pre_fn)(const void *ctx, int tid, int nt);

/* nb_conv_run_tasks with, when balanced, the tasks handed out as the
   threads ask for them (guided: a quarter of what is left, then less,
   down to one; in order), not in fixed shares: a thread that runs slower
   in one call (this machine's threads drift by 5-10 % a call) does fewer
   (for tasks whose outputs and bits do not depend on the thread that runs
   them; the last ones should be the small ones); and pre (or NULL) run by
   the team first, in the same parallel region (one team start a call, not
   two: ~2-4 us on this VM). */
nb_status nb_conv_run_tasks_ex(const nb_conv_desc *cd, int nt, int64_t tasks, int64_t rows,
                               int64_t cols, int need_col, const nb_conv_gemm_shape *gemm,
                               nb_conv_task_fn fn, const void *ctx, int balanced,
                               nb_conv_pre_fn pre);

/* The next tasks [*lo, *hi) of a guided hand-out from *next (shared by the
   team, starts at 0) over [0, n) on nt threads; 0 when none are left. */
int nb_conv_grab(int64_t *next, int64_t n, int nt, int64_t *lo, int64_t *hi);

/* im2col of output pixels [j0, j0 + nj) of one group's image xg into col
   (ldcol floats a row), split over the threads when this pass runs its
   tasks one after the other (src/conv_driver.c). */
void nb_conv_im2col_split(const nb_conv_desc *cd, const nb_conv2d_desc *d, const nb_conv_geom *g,
                          int64_t j0, int64_t nj, const float *xg, float *col, int64_t ldcol);

/* The column block [j0, j0 + nj) of one group's image xg as the B operand
   (L x nj) of a GEMM, *ldb its row stride: x itself for a 1x1 layer
   (pointwise: the column matrix is the image, read in place, ldb = PQ =
   HW), else the block's im2col into col (ldb = nj). */
const float *nb_conv_col_block(const nb_conv_desc *cd, const nb_conv2d_desc *d, const nb_conv_geom *g,
                               int64_t j0, int64_t nj, const float *xg, float *col, int64_t *ldb);

/* The implicit-im2col forward path (src/conv_implicit.c): whether it
   applies to this shape, and the pass itself (backward-data also runs it,
   on dy with transposed, rotated filters). */
int nb_conv_use_implicit(const nb_conv_desc *cd, const nb_conv2d_desc *d, const nb_conv_geom *g);
nb_status nb_conv_forward_implicit(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                   const float *x, const float *w, const float *bias, float *y);
/* NABLA_CONV_PATH: 1 implicit, -1 explicit, 0 unset (choose by shape). */
int nb_conv_implicit_forced(void);
/* NABLA_CONV_PATH=bcast: 1 (the broadcast path wherever it is possible). */
int nb_conv_bcast_forced(void);
/* The same pass with the output dims of g (P, Q, PQ) instead of d's: any
   pad_h / pad_w (negative too) with any P x Q output, the plan
   bounds-checking every tap (backward-data's stride phases,
   src/conv_bwd_data_phase.c); asrc (or NULL: w) packs the filters'
   A blocks itself: block (gi, columns [pc, pc + kc)) of the kg x L filter
   matrix of group gi in the layout of nb_gemm_pack_a_ft (trans 0) with
   MR = mr, rows past kg zero. */
typedef struct {
    void (*pack)(const void *ctx, int64_t gi, int64_t pc, int64_t kc, int64_t mr, float *dst);
    const void *ctx;
} nb_conv_apack_src;
nb_status nb_conv_forward_implicit_geom(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                        const nb_conv_geom *g, const nb_conv_apack_src *asrc,
                                        const float *x, const float *w, const float *bias,
                                        float *y);
/* Backward-data of a strided layer as one stride-1 forward convolution per
   phase of dx (src/conv_bwd_data_phase.c): 1 when it ran (*st its status),
   0 when the shape does not take it. */
int nb_conv_bwd_data_phases(const nb_conv_desc *cd, const nb_conv2d_desc *d, const float *dy,
                            const float *w, float *dx, nb_status *st);

/* The padded image split by column phase (src/conv_direct.c): phase a
   (padded columns a, a + sw, ...) is cg planes of hp x wq, so that each
   tap of consecutive output pixels of one row is a contiguous run. */
typedef struct { int64_t hp, wq, plane; } nb_conv_planes;
nb_conv_planes nb_conv_planes_of(const nb_conv2d_desc *d, const nb_conv_geom *g);
void nb_conv_fill_planes(const nb_conv_desc *cd, const nb_conv2d_desc *d, const nb_conv_geom *g,
                         const nb_conv_planes *pl, const float *x, float *planes);

/* The direct backward-filter path (src/conv_direct_bwf.c): 1 when it ran
   (*st its status), 0 when the shape or the ISA does not take it. */
int nb_conv_direct_backward_filter(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                   const nb_conv_geom *g, const float *x, const float *dy,
                                   float *dw, nb_status *st);

/* The broadcast-orientation direct forward path (src/conv_bcast.c): whether
   it takes this shape (one image's shape and the ISA), and the pass. */
int nb_conv_use_bcast(const nb_conv_desc *cd, const nb_conv2d_desc *d, const nb_conv_geom *g);
nb_status nb_conv_bcast_forward(const nb_conv_desc *cd, const nb_conv2d_desc *d, const float *x,
                                const float *w, const float *bias, float *y);

/* The direct forward path for few-channel layers (src/conv_direct.c). */
int nb_conv_use_direct(const nb_conv_desc *cd, const nb_conv2d_desc *d, const nb_conv_geom *g);
nb_status nb_conv_direct_forward(const nb_conv_desc *cd, const nb_conv2d_desc *d, const float *x,
                                 const float *w, const float *bias, float *y);

/* Backward-data's column-block path with the threads splitting the input
   channels (src/conv_bwd_data_sliced.c): the slices (threads) it would
   take, 0 where it does not apply (tasks_nt: the threads conv_driver.c's
   image x group tasks would take), and the pass, with conv_driver.c's
   column width nb and transposed filters wt (or NULL): the same bits. */
int nb_conv_bwd_data_slices(const nb_conv_desc *cd, const nb_conv2d_desc *d, const nb_conv_geom *g,
                            int tasks_nt);
nb_status nb_conv_backward_data_sliced(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                       const nb_conv_geom *g, int slices, int64_t nb,
                                       const float *dy, const float *w, const float *wt,
                                       float *dx);

/* Pointwise convolutions (src/conv_pointwise.c): 1x1, stride 1, no
   padding, on an ISA with cd->pw.fn (a function of the shape and the
   ISA only); forward and backward-data with the SGEMM's bits. */
int nb_conv_use_pointwise(const nb_conv_desc *cd, const nb_conv_geom *g, int64_t M);
nb_status nb_conv_pointwise_forward(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                    const float *x, const float *w, const float *bias, float *y);
nb_status nb_conv_pointwise_backward_data(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                          const float *dy, const float *w, float *dx);

/* Winograd F(4x4, 3x3) (src/conv_winograd.c): 3x3, stride 1, dilation 1,
   groups 1. Each returns 1 and the pass's status in *st when it ran the
   pass (the ISA has the transforms, NABLA_CONV_ALGO and, for auto, the
   shape of one image say so), 0 to leave it to the GEMM paths. */
int nb_conv_winograd_shape(const nb_conv2d_desc *d);
/* NABLA_CONV_ALGO, read per call: 0 auto (unset, anything else), 1 gemm,
   2 winograd. */
int nb_conv_algo_env(void);
/* Backward-filter by Winograd F(3x3, 4x4) (src/conv_winograd_bwd_filter.c):
   dw only (dbias is the caller's); 0 also when a dw was non-finite (the
   GEMM path then redoes the call). */
int nb_conv_winograd_backward_filter(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                     const float *x, const float *dy, float *dw, nb_status *st);
/* The passes without Winograd (src/conv_driver.c). */
nb_status nb_conv_forward_gemm(const nb_conv_desc *cd, const nb_conv2d_desc *d, const float *x,
                               const float *w, const float *bias, float *y);
nb_status nb_conv_backward_data_gemm(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                     const float *dy, const float *w, float *dx);
int nb_conv_winograd_forward(const nb_conv_desc *cd, const nb_conv2d_desc *d, const float *x,
                             const float *w, const float *bias, float *y, nb_status *st);
int nb_conv_winograd_backward_data(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                   const float *dy, const float *w, float *dx, nb_status *st);
/* Prepacked filters (src/api_conv_packed.c): the floats of the transformed
   filters a forward (bwd 0) or backward-data (bwd 1) call with this desc
   would take on Winograd now (0: it would not take Winograd), the
   transform into u (on nt threads), and the calls with them (u NULL:
   transformed in the call, as above). Same bits either way. */
int64_t nb_conv_winograd_pack_floats(const nb_conv_desc *cd, const nb_conv2d_desc *d, int bwd);
void nb_conv_winograd_pack(const nb_conv_desc *cd, const nb_conv2d_desc *d, int bwd,
                           const float *w, float *u, int nt);
int nb_conv_winograd_forward_packed(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                    const float *x, const float *w, const float *u,
                                    const float *bias, float *y, nb_status *st);
int nb_conv_winograd_backward_data_packed(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                          const float *dy, const float *w, const float *u,
                                          float *dx, nb_status *st);
/* Depthwise convolution (src/conv_depthwise.c): whether it takes this shape
   (a function of the shape alone), and its three passes. */
int nb_conv_use_depthwise(const nb_conv_desc *cd, const nb_conv2d_desc *d);
nb_status nb_conv_depthwise_forward(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                    const float *x, const float *w, const float *bias, float *y);
nb_status nb_conv_depthwise_backward_data(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                          const float *dy, const float *w, float *dx);
nb_status nb_conv_depthwise_backward_filter(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                            const float *x, const float *dy, float *dw,
                                            float *dbias);

#endif
