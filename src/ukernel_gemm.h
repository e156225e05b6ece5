/* The GEMM micro-kernels' contract and the per-ISA GEMM descriptor
 * (private), included by src/ukernel.h: kernels/ include only ukernel.h. */
#ifndef NB_UKERNEL_GEMM_H
#define NB_UKERNEL_GEMM_H

#include <stddef.h>
#include <stdint.h>

/* ======================= GEMM (src/gemm_driver.h) ======================= */

/* Micro-kernel: C[0:m, 0:n] = alpha * Apanel * Bpanel + beta * C (the
 * epilogue above), m <= MR, n <= NR, k >= 1.
 *   a: packed A micro-panel, k groups of MR floats (row r of group p is
 *      op(A)[r, p]; rows >= m are zero padding);
 *   b: packed B micro-panel, k groups of NR floats (columns >= n are zero
 *      padding); panels start 4*NR*k bytes apart from a 64-byte aligned
 *      buffer, so b is 64-byte aligned when NR is a multiple of 16 (AVX2),
 *      16-byte aligned in general (NR = 12 on NEON);
 *   c: row-major with row stride ldc, any alignment; only the m x n tile is
 *      read (beta != 0) or written. beta == 0: C is never read. */
typedef void nb_gemm_ukernel_ft(size_t m, size_t n, size_t k,
                                const float *a, const float *b,
                                float *c, ptrdiff_t ldc, float alpha, float beta);
typedef nb_gemm_ukernel_ft *nb_gemm_ukernel_fn;

/* The same micro-kernel contract with A read in place instead of packed:
 * op(A) = A (not transposed), element (r, p) at a[r*lda + p]; rows r >= m
 * are never read. Same bits as the packed kernel. */
typedef void nb_gemm_ukernel_adirect_ft(size_t m, size_t n, size_t k,
                                        const float *a, ptrdiff_t lda, const float *b,
                                        float *c, ptrdiff_t ldc, float alpha, float beta);
typedef nb_gemm_ukernel_adirect_ft *nb_gemm_ukernel_adirect_fn;

/* The same contract with nothing packed: A as for ukernel_adirect, and
 * op(B) = B (not transposed), element (p, j) at b[p*ldb + j], any alignment;
 * columns j >= n are never read. Same bits as the packed kernel. */
typedef void nb_gemm_ukernel_direct_ft(size_t m, size_t n, size_t k,
                                       const float *a, ptrdiff_t lda, const float *b,
                                       ptrdiff_t ldb, float *c, ptrdiff_t ldc, float alpha,
                                       float beta);
typedef nb_gemm_ukernel_direct_ft *nb_gemm_ukernel_direct_fn;

/* The A-in-place tile (lda != 0; lda == 0: a packed A micro-panel) that
 * also packs B: op(B) = B (not transposed) read in place as by
 * ukernel_direct (columns >= n never read), and each k's nr columns stored
 * to bpk (64-byte aligned) as group p of the packed B micro-panel, bit for
 * bit the pack_b panel (columns >= n zero). Same bits in C as the packed
 * kernel. */
typedef void nb_gemm_ukernel_packb_ft(size_t m, size_t n, size_t k, const float *a,
                                      ptrdiff_t lda, const float *b, ptrdiff_t ldb, float *bpk,
                                      float *c, ptrdiff_t ldc, float alpha, float beta);
typedef nb_gemm_ukernel_packb_ft *nb_gemm_ukernel_packb_fn;

/* Packs the m x k block of op(A) whose (0,0) element is at `a` into
 * ceil(m/MR) micro-panels of k*MR floats each, back to back in dst (rows
 * beyond m of the last panel zero-filled). trans == 0: op(A)[i,k] = a[i*lda+k];
 * trans == 1: op(A)[i,k] = a[k*lda+i]. dst is 64-byte aligned (each panel
 * 4*MR*k bytes after the previous one) and private to the calling thread, with NB_GEMM_PACK_SLACK floats of slack after the
 * last panel, so a routine may write a few floats past the position it fills
 * as long as it fills positions in increasing order. */
typedef void nb_gemm_pack_a_ft(int trans, size_t m, size_t k,
                               const float *a, ptrdiff_t lda, float *dst);
typedef nb_gemm_pack_a_ft *nb_gemm_pack_a_fn;

/* Packs the k x n block of op(B) at `b` into ceil(n/NR) micro-panels of k*NR
 * floats (columns beyond n zero-filled). trans == 0: op(B)[k,j] = b[k*ldb+j];
 * trans == 1: op(B)[k,j] = b[j*ldb+k]. dst is a multiple of 4*NR bytes
 * past a 64-byte aligned buffer: 64-byte aligned when NR is a multiple
 * of 16, 16-byte aligned in general. It must write
 * nothing outside its panels: threads pack neighbouring panel ranges of one
 * shared buffer at the same time. */
typedef void nb_gemm_pack_b_ft(int trans, size_t k, size_t n,
                               const float *b, ptrdiff_t ldb, float *dst);
typedef nb_gemm_pack_b_ft *nb_gemm_pack_b_fn;

/* Optional no-pack path for a few rows (small M, op(B) = B not transposed):
 * C[0:m, 0:n] = epilogue of one KC block, reading op(A)[i,k] at
 * a[i*rs_a + k*cs_a] and B[k,j] at b[k*ldb + j] in place. m <= rows_mr,
 * n <= rows_max_n (n <= rows1_max_n when the whole GEMM has M == 1), k <= the
 * descriptor's kc. Must give the same bits as the
 * packed path (same per-element FMA chain and epilogue). */
typedef void nb_gemm_rows_ft(size_t m, size_t n, size_t k,
                             const float *a, ptrdiff_t rs_a, ptrdiff_t cs_a,
                             const float *b, ptrdiff_t ldb,
                             float *c, ptrdiff_t ldc, float alpha, float beta);
typedef nb_gemm_rows_ft *nb_gemm_rows_fn;

/* Optional no-pack path for a few rows with op(B) = B^T (B stored N x K,
 * b[j*ldb + k]): C[0:m, 0:n] for the WHOLE K, m <= rows_mr, any n; the
 * kernel cuts K into blocks of kc itself (so it can stream rows of B) and
 * applies the per-block epilogue of the contract (beta on the first block,
 * 1 after). Same bits as the packed path. */
typedef void nb_gemm_rows_bt_ft(size_t m, size_t n, size_t K, size_t kc,
                                const float *a, ptrdiff_t rs_a, ptrdiff_t cs_a,
                                const float *b, ptrdiff_t ldb,
                                float *c, ptrdiff_t ldc, float alpha, float beta);
typedef nb_gemm_rows_bt_ft *nb_gemm_rows_bt_fn;

/* Floats of slack the driver leaves after every A packing buffer. */
#define NB_GEMM_PACK_SLACK 16

typedef struct {
    int mr, nr;                 /* micro-tile */
    int64_t mc, kc, nc;         /* cache blocking; mc % mr == 0, nc % nr == 0 */
    nb_gemm_ukernel_fn ukernel;
    nb_gemm_pack_a_fn pack_a;
    nb_gemm_pack_b_fn pack_b;
    /* Optional: skip packing A (trans_a == 0) when N <= adirect_max_n (too
       few column panels reuse a packed A block to repay packing it) and
       K >= adirect_min_k (short kernel calls favour the packed kernel, whose
       per-call setup is smaller). */
    nb_gemm_ukernel_adirect_fn ukernel_adirect;
    int64_t adirect_max_n, adirect_min_k;
    /* The SGEMM's packed path reads A in place up to this N (>=
       adirect_max_n; 0: adirect_max_n). adirect_max_n itself stays what
       the convolution drivers plan with and what bounds ukernel_direct. */
    int64_t adirect_sgemm_max_n;
    nb_gemm_rows_fn rows;       /* NULL: always pack */
    int rows_mr;                /* rows per `rows` and `rows_bt` call */
    int rows_max_m;             /* use `rows` when M <= this and trans_b == 0 */
    int64_t rows_max_n;         /* columns per `rows` call; a KC x rows_max_n
                                   block of B is reused from L2 by the
                                   row groups of one call */
    int64_t rows1_max_n;        /* columns per `rows` call when M == 1 (no
                                   row group reuses B, so longer runs of a
                                   B row stream better); 0: rows_max_n */
    nb_gemm_rows_bt_fn rows_bt; /* NULL: always pack when trans_b == 1 */
    int rows_bt_max_m;          /* use `rows_bt` when M <= this and trans_b == 1 */
    int64_t rows_bt_n;          /* columns per `rows_bt` call (its B rows stay in L2) */
    /* Threads: one more thread per this many multiply-adds (M*N*K). Below
       it a parallel region costs more than it saves (measured per ISA). */
    int64_t min_mnk_per_thread;
    /* Optional: where ukernel_adirect runs and B is not transposed either,
       read B in place too (no packing at all) when op(B) has at most
       direct_max_kn elements: B then stays in L2 for every row panel. */
    nb_gemm_ukernel_direct_fn ukernel_direct;
    int64_t direct_max_kn;
    /* Optional: a second unpacked tile (direct_wide_mr x direct_wide_nr,
       same bits) that the direct path runs instead when N is a multiple of
       direct_wide_nr and op(B) has at most direct_wide_max_kn elements (B
       in L1: a tile with fewer loads per FMA that only pays there). */
    nb_gemm_ukernel_direct_fn ukernel_direct_wide;
    int direct_wide_mr, direct_wide_nr;
    int64_t direct_wide_max_kn;
    /* Optional: the NC of the SGEMM's packed path where one B micro-panel
       (kc x nr floats) does not fit the CPU's L1d and the driver streams B
       panels past each A panel (gemm_driver.c, nb_gemm_driver_streams_b);
       0: nc. MC / NC never change a bit of C. */
    int64_t nc_streamed;
    /* Optional: where B is not transposed, a thread that packs its B
       panels for itself (one thread, or each thread its own panels) packs
       each panel in its first tile instead (ukernel_packb, over packed A
       or A in place; gemm_driver.c). Never changes a bit of C. */
    nb_gemm_ukernel_packb_fn ukernel_packb;
} nb_gemm_desc;

#endif
