/* The portable BLIS-style SGEMM driver: loops, packing buffers, threads.
 * See gemm_driver.h for the loop structure and the numerical contract.
 *
 * Threads (OpenMP, one parallel region per call) split either the rows of C
 * (each thread packs its own A blocks, all threads pack the shared B block
 * together, with a barrier before and after using it) or the columns of each
 * NC block (each thread packs and uses only its own B panels, no barrier;
 * the small A blocks are packed by every thread). Never K: the KC blocks and
 * the FMA order per element are those of one thread, so any thread count
 * gives the same bits.
 * Rows with a B block of at most PRIVATE_B_PANELS panels (N <= 64 on
 * AVX-512) have no barrier either: each thread packs the whole (small) B
 * block for itself. With shared panels the two barriers of every KC block
 * cost more than the duplicated packing: 1x1 backward-filter c24 56x56
 * k144 (M 144, N 24, K 3136: 9 KC blocks, 18 barriers) ran at 0.84x its
 * 1 thread on 2 idle threads, and at 1/80 of it with the other core busy
 * (a descheduled member stalls the team a time slice per barrier).
 */
#include <string.h>


#include "cpu_features.h"
#include "gemm_driver.h"
#include "internal.h"
#include "parallel.h"
#include "scratch.h"

/* Row splits with at most this many B panels an NC block pack them per
   thread (private_b, above). */
#define PRIVATE_B_PANELS 2

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

/* alpha == 0 or K == 0: BLAS reads neither A nor B; C = beta C, and beta == 0
   writes zeros without reading C. */
static void scale_c(int64_t M, int64_t N, float beta, float *C, int64_t ldc) {
    for (int64_t i = 0; i < M; i++) {
        float *c = C + i * ldc;
        if (beta == 0.0f) memset(c, 0, (size_t)N * sizeof *c);
        else for (int64_t j = 0; j < N; j++) c[j] = beta * c[j];
    }
}

typedef struct {
    const nb_gemm_desc *d;
    int ta, tb;
    int64_t M, N, K;
    float alpha, beta;
    const float *A, *B;
    int64_t lda, ldb, ldc;
    float *C;
    float *bbuf;            /* shared B block, kc x round_up(nc, nr) */
    float *abuf;            /* per-thread A blocks, abuf_stride floats apart */
    int64_t abuf_stride;
    int64_t kcb;            /* min(K, kc): the largest KC block */
    int64_t ncb;            /* the NC block width: nc or less (nc_block) */
    int split_m;            /* 1: threads split rows; 0: threads split columns */
    int adirect;            /* A is read in place by ukernel_adirect, not packed */
    int64_t rows1_n;        /* M == 1 no-pack path: columns per call (0: unused) */
    int64_t bslot;          /* split_n, private_b: floats of each thread's own B panels */
    int wide;               /* direct path: the descriptor's wide tile */
    const float *bpk;       /* prepacked B (nb_gemm_driver_pack_b), or NULL */
    int private_b;          /* split_m: every thread packs all of B for itself */
    int rows_outer;         /* packed A: row panels outer (nb_gemm_driver_streams_b) */
    int fuse_b;             /* adirect: B panels packed by their first tile (ukernel_packb) */
} gemm_ctx;

/* op(A)[i,k] and op(B)[k,j] addresses. */
static const float *a_at(const gemm_ctx *x, int64_t i, int64_t k) {
    return x->ta ? x->A + k * x->lda + i : x->A + i * x->lda + k;
}
static const float *b_at(const gemm_ctx *x, int64_t k, int64_t j) {
    return x->tb ? x->B + j * x->ldb + k : x->B + k * x->ldb + j;
}

/* BLIS's macro-kernel (loops 2 and 1): every n <= NR column panel, then
   every m <= MR row panel, of one packed A block and one KC block of packed
   B panels. The one loop nest that calls the micro-kernel on packed
   operands: the SGEMM below and the implicit-im2col convolution, whose B
   panels come from its own packer, both run it. */
void nb_gemm_macro_kernel(const nb_gemm_desc *d, int64_t m, int64_t n, int64_t kc,
                          const float *a, const float *b, float *c, int64_t ldc, float alpha,
                          float beta) {
    const int64_t mr = d->mr, nr = d->nr;
    for (int64_t jr = 0; jr < n; jr += nr) {
        const size_t nn = (size_t)min64(nr, n - jr);
        const float *bp = b + jr * kc;
        for (int64_t ir = 0; ir < m; ir += mr)
            d->ukernel((size_t)min64(mr, m - ir), nn, (size_t)kc, a + ir * kc, bp,
                       c + ir * ldc + jr, (ptrdiff_t)ldc, alpha, beta);
    }
}

int nb_gemm_driver_streams_b(const nb_gemm_desc *d, int64_t kc) {
    const int64_t l1d = nb_cpu_caches().l1d;
    return l1d > 0 && kc * d->nr * (int64_t)sizeof(float) > l1d;
}

/* nb_gemm_macro_kernel with the loops swapped: each packed A micro-panel
   stays in L1 while the B panels stream past it (from L2 or L3), for a B
   micro-panel that L1 cannot hold (nb_gemm_driver_streams_b). Same tiles,
   same calls, so the same bits. */
static void macro_kernel_rows_outer(const nb_gemm_desc *d, int64_t m, int64_t n, int64_t kc,
                                    const float *a, const float *b, float *c, int64_t ldc,
                                    float alpha, float beta) {
    const int64_t mr = d->mr, nr = d->nr;
    for (int64_t ir = 0; ir < m; ir += mr) {
        const size_t mm = (size_t)min64(mr, m - ir);
        for (int64_t jr = 0; jr < n; jr += nr)
            d->ukernel(mm, (size_t)min64(nr, n - jr), (size_t)kc, a + ir * kc, b + jr * kc,
                       c + ir * ldc + jr, (ptrdiff_t)ldc, alpha, beta);
    }
}

/* Rows [r0, r1) x packed B panels [p0, p1) of the current (jc, pc) block;
   panel p is at bpan + (p - p0) * nr * kc. fill: the panels are not packed
   yet, and the first tile of each (row r0's) packs it from op(B) as it
   goes (x->fuse_b). */
static void compute_block(const gemm_ctx *x, float *abuf, int64_t r0, int64_t r1,
                          float *bpan, int64_t p0, int64_t p1, int64_t jc, int64_t nc,
                          int64_t pc, int64_t kc, float beta, int fill) {
    const nb_gemm_desc *d = x->d;
    const int64_t mr = d->mr, nr = d->nr;
    const int64_t j0 = p0 * nr, n = min64(nc, p1 * nr) - j0;
    for (int64_t ic = r0; ic < r1; ic += d->mc) {
        const int64_t mc = min64(d->mc, r1 - ic);
        float *c = x->C + ic * x->ldc + jc + j0;
        if (!x->adirect) {
            d->pack_a(x->ta, (size_t)mc, (size_t)kc, a_at(x, ic, pc), (ptrdiff_t)x->lda, abuf);
            if (fill && ic == r0) {   /* the macro-kernels' loops, row panel 0 packing B */
                for (int64_t o = 0; o < (x->rows_outer ? mc : n); o += x->rows_outer ? mr : nr)
                    for (int64_t q = 0; q < (x->rows_outer ? n : mc); q += x->rows_outer ? nr : mr) {
                        const int64_t ir = x->rows_outer ? o : q, jr = x->rows_outer ? q : o;
                        const size_t mm = (size_t)min64(mr, mc - ir), nn = (size_t)min64(nr, n - jr);
                        if (ir == 0)
                            d->ukernel_packb(mm, nn, (size_t)kc, abuf, 0, b_at(x, pc, jc + j0 + jr),
                                             (ptrdiff_t)x->ldb, bpan + jr * kc, c + jr,
                                             (ptrdiff_t)x->ldc, x->alpha, beta);
                        else
                            d->ukernel(mm, nn, (size_t)kc, abuf + ir * kc, bpan + jr * kc,
                                       c + ir * x->ldc + jr, (ptrdiff_t)x->ldc, x->alpha, beta);
                    }
            } else if (x->rows_outer)
                macro_kernel_rows_outer(d, mc, n, kc, abuf, bpan, c, x->ldc, x->alpha, beta);
            else
                nb_gemm_macro_kernel(d, mc, n, kc, abuf, bpan, c, x->ldc, x->alpha, beta);
            continue;
        }
        /* A read in place: the same loops with the A-direct tile. Tried
           (session 16, Zen 4): row panels outer here too where the B
           micro-panel outgrows L1d (each A micro-panel from L1 for the
           other column panel): 3136x64x576 1.024x slower, 256^3 and
           128x256x784_bt 1.00x (/tmp/ab.sh, 5 rounds). Not kept. */
        for (int64_t jr = 0; jr < n; jr += nr)
            for (int64_t ir = 0; ir < mc; ir += mr)
                if (fill && ic == r0 && ir == 0)
                    d->ukernel_packb((size_t)min64(mr, mc), (size_t)min64(nr, n - jr), (size_t)kc,
                                     a_at(x, ic, pc), (ptrdiff_t)x->lda, b_at(x, pc, jc + j0 + jr),
                                     (ptrdiff_t)x->ldb, bpan + jr * kc, c + jr, (ptrdiff_t)x->ldc,
                                     x->alpha, beta);
                else
                    d->ukernel_adirect((size_t)min64(mr, mc - ir), (size_t)min64(nr, n - jr),
                                       (size_t)kc, a_at(x, ic + ir, pc), (ptrdiff_t)x->lda,
                                       bpan + jr * kc, c + ir * x->ldc + jr, (ptrdiff_t)x->ldc,
                                       x->alpha, beta);
    }
}

static void packed_thread(void *ctx, int tid, int nt) {
    const gemm_ctx *x = ctx;
    const nb_gemm_desc *d = x->d;
    const int64_t mr = d->mr, nr = d->nr;
    float *abuf = x->abuf + (int64_t)tid * x->abuf_stride;
    /* Rows of this thread (split_m) in whole micro-panels. */
    const int64_t mp = (x->M + mr - 1) / mr;
    int64_t r0 = 0, r1 = x->M;
    if (x->split_m) {
        r0 = min64(x->M, (mp * tid / nt) * mr);
        r1 = min64(x->M, (mp * (tid + 1) / nt) * mr);
    }
    for (int64_t jc = 0; jc < x->N; jc += x->ncb) {
        const int64_t nc = min64(x->ncb, x->N - jc);
        const int64_t np = (nc + nr - 1) / nr;
        /* B panels this thread packs: a share of all (split_m), its own
           (split_n), or all of them for itself (private_b). */
        const int64_t p0 = x->private_b ? 0 : np * tid / nt;
        const int64_t p1 = x->private_b ? np : np * (tid + 1) / nt;
        for (int64_t pc = 0; pc < x->K; pc += d->kc) {
            const int64_t kc = min64(d->kc, x->K - pc);
            const float beta = pc == 0 ? x->beta : 1.0f;
            if (x->bpk) {   /* prepacked: this block's panels are already in place */
                const float *blk = x->bpk + pc * round_up(x->N, nr) + jc * kc;
                if (x->split_m && r1 > r0)
                    compute_block(x, abuf, r0, r1, (float *)blk, 0, np, jc, nc, pc, kc, beta, 0);
                else if (!x->split_m && p1 > p0)
                    compute_block(x, abuf, 0, x->M, (float *)(blk + p0 * nr * kc), p0, p1, jc, nc,
                                  pc, kc, beta, 0);
                continue;
            }
            /* split_m: panels back to back with stride nr*kc, shared (the
               barriers order packing and use). split_n: each thread packs
               into its own slot, which depends on neither kc nor the NC
               block's panel count (the last block may have fewer panels and
               so other p0), so a thread that runs ahead to the next block
               never overwrites panels another thread is still reading. */
            const int shared = x->split_m && !x->private_b;
            float *mine = shared ? x->bbuf + p0 * nr * kc : x->bbuf + tid * x->bslot;
            /* A thread that alone uses its panels lets their first tiles
               pack them (fuse_b: one pass over B fewer). */
            const int fill = x->fuse_b && (!shared || nt == 1);
            if (fill) {
                if (x->private_b ? r1 > r0 : p1 > p0)
                    compute_block(x, abuf, x->private_b ? r0 : 0, x->private_b ? r1 : x->M, mine,
                                  x->private_b ? 0 : p0, x->private_b ? np : p1, jc, nc, pc, kc,
                                  beta, 1);
                continue;
            }
            if (p1 > p0)
                d->pack_b(x->tb, (size_t)kc, (size_t)(min64(nc, p1 * nr) - p0 * nr),
                          b_at(x, pc, jc + p0 * nr), (ptrdiff_t)x->ldb, mine);
            if (x->private_b) {
                if (r1 > r0) compute_block(x, abuf, r0, r1, mine, 0, np, jc, nc, pc, kc, beta, 0);
            } else if (x->split_m) {
                nb_parallel_barrier(nt);
                if (r1 > r0) compute_block(x, abuf, r0, r1, x->bbuf, 0, np, jc, nc, pc, kc, beta, 0);
                /* Nobody repacks B while another thread still reads it. */
                nb_parallel_barrier(nt);
            } else if (p1 > p0) {
                compute_block(x, abuf, 0, x->M, mine, p0, p1, jc, nc, pc, kc, beta, 0);
            }
        }
    }
}

/* How imbalanced a split of `units` equal parts over nt threads is (the
   busiest thread's share relative to a perfect split), scaled by 1000. */
static int64_t imbalance(int64_t units, int64_t nt) {
    return units <= 0 ? INT64_MAX : ((units + nt - 1) / nt) * nt * 1000 / units;
}

/* Packing buffers come from the calling thread's scratch slot (scratch.h):
   a 64^3 GEMM takes a few microseconds, and malloc/free of its buffers
   (with glibc's consolidation of freed chunks) cost a few percent of that.
   The size is bounded by the blocking (kc*nc + threads*mc*kc floats, ~4 MiB
   on AVX2), not by the problem. */

/* The width of the NC blocks: N cut into ceil(N / nc) blocks of equal
   width (whole NR panels), so that N a little over nc is not one full block
   and a sliver that repacks every A block for a few columns. Splitting N
   never changes a bit of C. */
static int64_t nc_block(const nb_gemm_desc *d, int64_t N, int64_t nc) {
    const int64_t blocks = (N + nc - 1) / nc;
    return round_up((N + blocks - 1) / blocks, d->nr);
}

/* Sets x's split, blocking and A-in-place choice for nt threads; returns
   the threads the packed path will use and sets *floats to the size of its
   packing buffer. */
static int plan_packed(const nb_gemm_desc *d, gemm_ctx *x, int nt, size_t *floats) {
    const int64_t kcb = min64(x->K, d->kc);
    const int rows_outer = nb_gemm_driver_streams_b(d, kcb);
    const int64_t nc = rows_outer && d->nc_streamed > 0 ? d->nc_streamed : d->nc;
    int64_t ncb = round_up(min64(x->N, nc_block(d, x->N, nc)), d->nr);
    const int64_t mcb = round_up(min64(x->M, d->mc), d->mr);
    const int64_t mp = (x->M + d->mr - 1) / d->mr;
    int64_t np = ncb / d->nr;
    if (nt > 1) {
        /* Split the dimension that balances better; columns on a tie: that
           split has no barrier (each thread packs the B panels it uses), so
           a thread that the OS deschedules (more runnable threads than
           cores) delays only its own share instead of stalling the team at
           every KC block. The price is that every thread packs the A
           blocks, ~nt/N of the work. */
        /* Tried (session 14): rows also where they balance at most 1 %
           worse than columns (2048^3: 147 row panels against 64 column
           panels, so each thread would stop packing all of A). 2048^3_t2,
           real time: 0.93x / 0.94x in two A/Bs of the same binary but
           1.00x / 0.99x in two against the old binary: not shown, not kept. */
        x->split_m = imbalance(mp, nt) < imbalance(np, nt);
        /* Columns: each thread keeps only its own panels of an NC block in
           L2 (about nc columns, as one thread's whole block), so the block
           is nt times as wide. Each thread packs every A block once per NC
           block: fewer NC blocks, less of that duplicated work. 2048^3 on
           2 threads: A was packed twice per thread; one A pass measured
           0.5-1.4 ms on 1 thread (2048x1056x2048, two NC blocks, against
           2048x1024x2048, one), 1-3 % of a thread's ~50 ms. */
        if (!x->split_m) {
            ncb = round_up(min64(x->N, nc_block(d, x->N, nc * nt)), d->nr);
            np = ncb / d->nr;
        }
        const int64_t units = x->split_m ? mp : np;
        if (units < nt) nt = (int)units;
    } else {
        x->split_m = 1;
    }
    x->private_b = nt > 1 && x->split_m && np <= PRIVATE_B_PANELS && !x->bpk;
    x->kcb = kcb;
    x->ncb = ncb;
    x->rows_outer = rows_outer;
    const int64_t adirect_n = d->adirect_sgemm_max_n > d->adirect_max_n ? d->adirect_sgemm_max_n
                                                                          : d->adirect_max_n;
    x->adirect = !x->ta && d->ukernel_adirect && x->N <= adirect_n && x->K >= d->adirect_min_k;
    /* B packed by its first tiles (ukernel_packb): with A in place at any
       M; with A packed where few rows reuse each B block (M <= 2 MC:
       128x784x256 +8-10 %, 168x512x512 +4 %; 512^3 and 1024^3 -1..+1 %,
       config-avx512.c). */
    x->fuse_b = !x->tb && d->ukernel_packb != NULL && (x->adirect || x->M <= 2 * d->mc);
    /* Session 13's report put 3136x64x576 2.35 -> 3.70 ms and 128x4096x1024
       12.2 -> 14.7 ms on this. Measured (session 14): 3136x64x576 has
       trans_b = 1 and never takes this path (A/Bs 0.97-0.99x);
       128x4096x1024 fused or not in one binary 0.994x / 1.07x, and perf
       puts the packing tile at 18.4 % against the pack_b pass's 10.2 %
       plus ~8 % of plain tile time: B streams from memory either way
       (ldb 16 KiB), the work only moves. The peers' rows moved by up to
       1.33x in the same A/Bs: the report's figures were the machine.
       Also tried (branch uk14): A micro-panels packed by their first tile
       (a 14x32 tile storing each broadcast's lane to the packed panel).
       Neutral against the pack_a pass in A/Bs (512^3 1.007x / 1.010x); at
       4 and 8 KiB row strides (1024^3, 2048^3) the 14 rows share an L1d
       set and that tile ran 3.3-3.4x a plain tile. Not kept. */
    x->abuf_stride = x->adirect ? 0 : round_up(kcb * mcb + NB_GEMM_PACK_SLACK, 16);
    /* split_n: slots of the most panels a thread takes in any NC block
       (ceil(np / nt): a narrower block never gives a thread more). */
    x->bslot = x->private_b ? round_up(np * d->nr * kcb, 16)
             : x->split_m   ? 0
                            : round_up((np + nt - 1) / nt * d->nr * kcb, 16);
    if (x->bpk) {   /* prepacked B: no B buffer; A in place whenever the tile can */
        x->fuse_b = 0;
        x->adirect = x->adirect || (!x->ta && d->ukernel_adirect && x->M <= d->mr);
        x->abuf_stride = x->adirect ? 0 : x->abuf_stride;
        x->bslot = 0;
    }
    const int64_t bfloats = x->bpk ? 0 : x->split_m && !x->private_b ? kcb * ncb : x->bslot * nt;
    *floats = (size_t)(bfloats + NB_GEMM_PACK_SLACK) + (size_t)x->abuf_stride * (size_t)nt;
    return nt;
}

static nb_status run_packed(const nb_gemm_desc *d, gemm_ctx *x, int nt) {
    size_t floats;
    nt = plan_packed(d, x, nt, &floats);
    int owned;
    float *buf = nb_scratch(NB_SCRATCH_GEMM, floats * sizeof(float), &owned);
    if (!buf) return NB_ERR_OOM;
    x->abuf = buf;
    x->bbuf = x->bpk ? NULL : buf + x->abuf_stride * nt;   /* abuf_stride is a multiple of 16: aligned */
    nb_parallel_team(nt, packed_thread, x);
    nb_scratch_done(buf, owned);
    return NB_OK;
}

/* Units of the no-pack paths: (column chunk q, row group g), q-major, so a
   thread's consecutive units share the chunk of B in L2. */
static int64_t rows_chunk(const gemm_ctx *x) {
    if (x->rows1_n > 0) return x->rows1_n;
    if (x->tb) return x->d->rows_bt_n;
    return x->d->rows_max_n;
}
static int64_t rows_groups(const gemm_ctx *x) { return (x->M + x->d->rows_mr - 1) / x->d->rows_mr; }
static int64_t rows_units(const gemm_ctx *x) {
    return (x->N + rows_chunk(x) - 1) / rows_chunk(x) * rows_groups(x);
}

/* B^T: each unit runs over the whole K (the kernel cuts it into KC blocks). */
static void rows_bt_thread(void *ctx, int tid, int nt) {
    const gemm_ctx *x = ctx;
    const nb_gemm_desc *d = x->d;
    const int64_t units = rows_units(x), groups = rows_groups(x), chunk = rows_chunk(x);
    const int64_t u0 = units * tid / nt, u1 = units * (tid + 1) / nt;
    const ptrdiff_t rs_a = x->ta ? 1 : (ptrdiff_t)x->lda, cs_a = x->ta ? (ptrdiff_t)x->lda : 1;
    for (int64_t u = u0; u < u1; u++) {
        const int64_t j0 = u / groups * chunk, i0 = u % groups * d->rows_mr;
        d->rows_bt((size_t)min64(d->rows_mr, x->M - i0), (size_t)min64(chunk, x->N - j0),
                   (size_t)x->K, (size_t)d->kc, a_at(x, i0, 0), rs_a, cs_a, b_at(x, 0, j0),
                   (ptrdiff_t)x->ldb, x->C + i0 * x->ldc + j0, (ptrdiff_t)x->ldc, x->alpha, x->beta);
    }
}

static void rows_thread(void *ctx, int tid, int nt) {
    const gemm_ctx *x = ctx;
    const nb_gemm_desc *d = x->d;
    const int64_t units = rows_units(x), groups = rows_groups(x), chunk = rows_chunk(x);
    const int64_t u0 = units * tid / nt, u1 = units * (tid + 1) / nt;
    const ptrdiff_t rs_a = x->ta ? 1 : (ptrdiff_t)x->lda, cs_a = x->ta ? (ptrdiff_t)x->lda : 1;
    /* Each unit belongs to one thread for every KC block, so each element
       still sees its KC blocks in order on one thread. */
    for (int64_t pc = 0; pc < x->K; pc += d->kc) {
        const int64_t kc = min64(d->kc, x->K - pc);
        const float beta = pc == 0 ? x->beta : 1.0f;
        for (int64_t u = u0; u < u1; u++) {
            const int64_t j0 = u / groups * chunk, n = min64(chunk, x->N - j0);
            const int64_t i0 = u % groups * d->rows_mr;
            d->rows((size_t)min64(d->rows_mr, x->M - i0), (size_t)n, (size_t)kc,
                    a_at(x, i0, pc), rs_a, cs_a, b_at(x, pc, j0), (ptrdiff_t)x->ldb,
                    x->C + i0 * x->ldc + j0, (ptrdiff_t)x->ldc, x->alpha, beta);
        }
    }
}

static nb_status run_rows(gemm_ctx *x, int nt) {
    nb_team_body body = x->tb ? rows_bt_thread : rows_thread;
    /* M == 1: one long chunk per thread (up to rows1_max_n columns, a multiple
       of 64 so chunks start on cache lines when B does), as no row group
       reuses it; the chunking never changes a bit of C. */
    if (!x->tb && x->M == 1 && x->d->rows1_max_n > 0) {
        const int64_t per_thread = (x->N + nt - 1) / nt;
        x->rows1_n = min64(x->d->rows1_max_n, (per_thread + 63) / 64 * 64);
    }
    /* B^T, M == 1: the same, a multiple of 16 rows of B (one call streams
       them in order; the chunking never changes a bit of C either). */
    if (x->tb && x->M == 1) {
        const int64_t per_thread = (x->N + nt - 1) / nt;
        x->rows1_n = (per_thread + 15) / 16 * 16;
    }
    const int64_t units = rows_units(x);
    if (nt > units) nt = (int)units;
    nb_parallel_team(nt, body, x);
    return NB_OK;
}

/* Nothing packed (ukernel_direct): small B, few column panels, neither
   operand transposed. */
static int use_direct(const nb_gemm_desc *d, int ta, int tb, int64_t N, int64_t K) {
    return !ta && !tb && d->ukernel_direct && N <= d->adirect_max_n && K >= d->adirect_min_k &&
           K * N <= d->direct_max_kn;   /* N <= adirect_max_n: no overflow */
}

/* The direct path's tile: the wide one (fewer loads per FMA) where N is a
   whole number of its panels and B is small enough for L1, else the
   packed path's. Both give the same bits, so this choice never changes C. */
static int use_direct_wide(const nb_gemm_desc *d, int64_t N, int64_t K) {
    return d->ukernel_direct_wide && N % d->direct_wide_nr == 0 && K * N <= d->direct_wide_max_kn;
}

/* ukernel_direct over tiles: unit u is row panel u % mp of column panel
   u / mp (a thread's consecutive units share B's columns). Each unit
   belongs to one thread for every KC block, in order, so an element sees
   the packed path's KC blocks and FMA chains. */
static void direct_thread(void *ctx, int tid, int nt) {
    const gemm_ctx *x = ctx;
    const nb_gemm_desc *d = x->d;
    const int64_t mr = x->wide ? d->direct_wide_mr : d->mr, nr = x->wide ? d->direct_wide_nr : d->nr;
    const nb_gemm_ukernel_direct_fn tile = x->wide ? d->ukernel_direct_wide : d->ukernel_direct;
    const int64_t mp = (x->M + mr - 1) / mr, np = (x->N + nr - 1) / nr;
    const int64_t u0 = mp * np * tid / nt, u1 = mp * np * (tid + 1) / nt;
    for (int64_t pc = 0; pc < x->K; pc += d->kc) {
        const int64_t kc = min64(d->kc, x->K - pc);
        const float beta = pc == 0 ? x->beta : 1.0f;
        for (int64_t u = u0; u < u1; u++) {
            const int64_t i0 = u % mp * mr, j0 = u / mp * nr;
            tile((size_t)min64(mr, x->M - i0), (size_t)min64(nr, x->N - j0), (size_t)kc,
                 a_at(x, i0, pc), (ptrdiff_t)x->lda, b_at(x, pc, j0), (ptrdiff_t)x->ldb,
                 x->C + i0 * x->ldc + j0, (ptrdiff_t)x->ldc, x->alpha, beta);
        }
    }
}

static nb_status run_direct(gemm_ctx *x, int nt) {
    const nb_gemm_desc *d = x->d;
    x->wide = use_direct_wide(d, x->N, x->K);
    const int64_t mr = x->wide ? d->direct_wide_mr : d->mr, nr = x->wide ? d->direct_wide_nr : d->nr;
    const int64_t units = (x->M + mr - 1) / mr * ((x->N + nr - 1) / nr);
    if (nt > units) nt = (int)units;
    nb_parallel_team(nt, direct_thread, x);
    return NB_OK;
}

/* Threads for a GEMM of this shape (the team size of the call's own
   parallel region, 1 inside a caller's region); 0 when the call packs
   nothing (empty, C = beta C only, or a no-pack row path). */
static int packed_threads(const nb_gemm_desc *d, int trans_a, int trans_b, int64_t M, int64_t N,
                          int64_t K, float alpha) {
    if (M == 0 || N == 0 || K == 0 || alpha == 0.0f) return 0;
    if (d->rows && !trans_b && M <= d->rows_max_m) return 0;
    if (d->rows_bt && trans_b && M <= d->rows_bt_max_m) return 0;
    if (use_direct(d, trans_a, trans_b, N, K)) return 0;
    /* M*N*K saturates instead of overflowing: it only sizes the team. */
    int64_t mnk;
    if (!nb_mul_ok(M, N, &mnk) || !nb_mul_ok(mnk, K, &mnk)) mnk = INT64_MAX;
    return nb_threads_for(mnk, d->min_mnk_per_thread);
}

nb_status nb_gemm_driver_reserve(const nb_gemm_desc *d, int trans_a, int trans_b, int64_t M,
                                 int64_t N, int64_t K) {
    const int nt = packed_threads(d, trans_a, trans_b, M, N, K, 1.0f);
    if (nt == 0) return NB_OK;
    gemm_ctx x = {d, trans_a, trans_b, M, N, K, 1.0f, 0.0f, NULL, NULL, 0, 0, 0, NULL,
                  NULL, NULL, 0, 0, 0, 1, 0, 0, 0, 0, NULL, 0, 0, 0};
    size_t floats;
    plan_packed(d, &x, nt, &floats);
    return nb_scratch_reserve(NB_SCRATCH_GEMM, floats * sizeof(float)) ? NB_OK : NB_ERR_OOM;
}

nb_status nb_gemm_driver_run(const nb_gemm_desc *d, int trans_a, int trans_b,
                             int64_t M, int64_t N, int64_t K,
                             float alpha, const float *A, int64_t lda,
                             const float *B, int64_t ldb,
                             float beta, float *C, int64_t ldc) {
    if (M == 0 || N == 0) return NB_OK;
    if (K == 0 || alpha == 0.0f) {
        scale_c(M, N, beta, C, ldc);
        return NB_OK;
    }
    gemm_ctx x = {d, trans_a, trans_b, M, N, K, alpha, beta, A, B, lda, ldb, ldc, C,
                  NULL, NULL, 0, 0, 0, 1, 0, 0, 0, 0, NULL, 0, 0, 0};
    /* M*N*K saturates instead of overflowing: it only sizes the team. */
    int64_t mnk;
    if (!nb_mul_ok(M, N, &mnk) || !nb_mul_ok(mnk, K, &mnk)) mnk = INT64_MAX;
    const int nt = nb_threads_for(mnk, d->min_mnk_per_thread);
    if (d->rows && !trans_b && M <= d->rows_max_m) return run_rows(&x, nt);
    if (d->rows_bt && trans_b && M <= d->rows_bt_max_m) return run_rows(&x, nt);
    if (use_direct(d, trans_a, trans_b, N, K)) return run_direct(&x, nt);
    return run_packed(d, &x, nt);
}

/* ---- prepacked B ---------------------------------------------------------
   Layout: the KC blocks of op(B) one after the other, block p (rows
   [p kc, p kc + kc_p) of op(B)) at p kc round_up(N, nr) floats, holding
   the ceil(N / nr) panels pack_b writes for it (panel j at j nr kc_p): the
   packed path's B block for every (jc, pc) is then a run of panels in
   place. A few rows of C read it as kc_p x round_up(N, nr) contiguous
   floats per KC block, one stream. */
int64_t nb_gemm_driver_packed_b_floats(const nb_gemm_desc *d, int64_t N, int64_t K) {
    int64_t f;
    return nb_mul_ok(round_up(N, d->nr), K, &f) ? f : -1;
}

void nb_gemm_driver_pack_b(const nb_gemm_desc *d, int trans_b, int64_t N, int64_t K,
                           const float *B, int64_t ldb, float *dst) {
    const int64_t np = round_up(N, d->nr);
    for (int64_t pc = 0; pc < K; pc += d->kc) {
        const int64_t kc = min64(d->kc, K - pc);
        d->pack_b(trans_b, (size_t)kc, (size_t)N, trans_b ? B + pc : B + pc * ldb, (ptrdiff_t)ldb,
                  dst + pc * np);
    }
}

nb_status nb_gemm_driver_run_prepacked(const nb_gemm_desc *d, int trans_a, int64_t M, int64_t N,
                                       int64_t K, float alpha, const float *A, int64_t lda,
                                       const float *bpk, float beta, float *C, int64_t ldc) {
    if (M == 0 || N == 0) return NB_OK;
    if (K == 0 || alpha == 0.0f) {
        scale_c(M, N, beta, C, ldc);
        return NB_OK;
    }
    gemm_ctx x = {d, trans_a, 0, M, N, K, alpha, beta, A, NULL, lda, 0, ldc, C,
                  NULL, NULL, 0, 0, 0, 1, 0, 0, 0, 0, bpk, 0, 0, 0};
    int64_t mnk;
    if (!nb_mul_ok(M, N, &mnk) || !nb_mul_ok(mnk, K, &mnk)) mnk = INT64_MAX;
    return run_packed(d, &x, nb_threads_for(mnk, d->min_mnk_per_thread));
}
