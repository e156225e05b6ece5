/* The portable BLIS-style SGEMM driver (private).
 *
 * C = alpha op(A) op(B) + beta C with the five BLIS loops
 *   jc over NC columns of C   (B block KC x NC lives in L3)
 *    pc over KC of the K dim  (pack the B block once per (jc, pc))
 *     ic over MC rows of C    (pack the A block MC x KC, lives in L2)
 *      jr over NR columns     (the B micro-panel KC x NR stays in L1)
 *       ir over MR rows       (micro-kernel: MR x NR tile in registers)
 * The ISA supplies the micro-kernel and the packing routines through a
 * descriptor, so AVX2 (6x16) and NEON (8x12) share this file unchanged. It
 * is compiled with baseline flags: it only calls the ISA code through the
 * descriptor's function pointers, after dispatch has checked the CPU.
 *
 * Numerics (DESIGN.md "same bits for any thread count / batch size"):
 * element C[i,j] is computed, for each KC block p (boundaries at multiples of
 * the descriptor's kc, fixed per ISA, independent of M, N and threads), as
 *   acc = 0; for k in block p, in order: acc = fma(op(A)[i,k], op(B)[k,j], acc)
 *   C[i,j] = alpha*acc            (p == 0 and beta == 0: C is not read)
 *   C[i,j] = fma(beta_p, C[i,j], alpha*acc)   otherwise, beta_0 = beta, beta_p = 1
 * Every kernel of the descriptor (packed tile, edge tile, small-M no-pack
 * path) must implement exactly this sequence; the driver guarantees the
 * block boundaries. Threads split M or N, never K.
 */
#ifndef NB_GEMM_DRIVER_H
#define NB_GEMM_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#include <nabla/kernels.h>

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
typedef void (*nb_gemm_ukernel_fn)(size_t m, size_t n, size_t k,
                                   const float *a, const float *b,
                                   float *c, ptrdiff_t ldc, float alpha, float beta);

/* The same micro-kernel contract with A read in place instead of packed:
 * op(A) = A (not transposed), element (r, p) at a[r*lda + p]; rows r >= m
 * are never read. Same bits as the packed kernel. */
typedef void (*nb_gemm_ukernel_adirect_fn)(size_t m, size_t n, size_t k,
                                           const float *a, ptrdiff_t lda, const float *b,
                                           float *c, ptrdiff_t ldc, float alpha, float beta);

/* Packs the m x k block of op(A) whose (0,0) element is at `a` into
 * ceil(m/MR) micro-panels of k*MR floats each, back to back in dst (rows
 * beyond m of the last panel zero-filled). trans == 0: op(A)[i,k] = a[i*lda+k];
 * trans == 1: op(A)[i,k] = a[k*lda+i]. dst is 64-byte aligned (each panel
 * 4*MR*k bytes after the previous one) and private to the calling thread, with NB_GEMM_PACK_SLACK floats of slack after the
 * last panel, so a routine may write a few floats past the position it fills
 * as long as it fills positions in increasing order. */
typedef void (*nb_gemm_pack_a_fn)(int trans, size_t m, size_t k,
                                  const float *a, ptrdiff_t lda, float *dst);

/* Packs the k x n block of op(B) at `b` into ceil(n/NR) micro-panels of k*NR
 * floats (columns beyond n zero-filled). trans == 0: op(B)[k,j] = b[k*ldb+j];
 * trans == 1: op(B)[k,j] = b[j*ldb+k]. dst is a multiple of 4*NR bytes
 * past a 64-byte aligned buffer: 64-byte aligned when NR is a multiple
 * of 16, 16-byte aligned in general. It must write
 * nothing outside its panels: threads pack neighbouring panel ranges of one
 * shared buffer at the same time. */
typedef void (*nb_gemm_pack_b_fn)(int trans, size_t k, size_t n,
                                  const float *b, ptrdiff_t ldb, float *dst);

/* Optional no-pack path for a few rows (small M, op(B) = B not transposed):
 * C[0:m, 0:n] = epilogue of one KC block, reading op(A)[i,k] at
 * a[i*rs_a + k*cs_a] and B[k,j] at b[k*ldb + j] in place. m <= rows_mr,
 * n <= rows_max_n (n <= rows1_max_n when the whole GEMM has M == 1), k <= the
 * descriptor's kc. Must give the same bits as the
 * packed path (same per-element FMA chain and epilogue). */
typedef void (*nb_gemm_rows_fn)(size_t m, size_t n, size_t k,
                                const float *a, ptrdiff_t rs_a, ptrdiff_t cs_a,
                                const float *b, ptrdiff_t ldb,
                                float *c, ptrdiff_t ldc, float alpha, float beta);

/* Optional no-pack path for a few rows with op(B) = B^T (B stored N x K,
 * b[j*ldb + k]): C[0:m, 0:n] for the WHOLE K, m <= rows_mr, any n; the
 * kernel cuts K into blocks of kc itself (so it can stream rows of B) and
 * applies the per-block epilogue of the contract (beta on the first block,
 * 1 after). Same bits as the packed path. */
typedef void (*nb_gemm_rows_bt_fn)(size_t m, size_t n, size_t K, size_t kc,
                                   const float *a, ptrdiff_t rs_a, ptrdiff_t cs_a,
                                   const float *b, ptrdiff_t ldb,
                                   float *c, ptrdiff_t ldc, float alpha, float beta);

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
} nb_gemm_desc;

/* Runs the whole GEMM (arguments validated by nb_sgemm). NB_ERR_OOM when
   the packing buffers cannot be allocated, before C is touched. */
nb_status nb_gemm_driver_run(const nb_gemm_desc *d, int trans_a, int trans_b,
                             int64_t M, int64_t N, int64_t K,
                             float alpha, const float *A, int64_t lda,
                             const float *B, int64_t ldb,
                             float beta, float *C, int64_t ldc);

/* Makes the calling thread's GEMM scratch slot (scratch.h) hold the
   packing buffer nb_gemm_driver_run would take for this shape (alpha != 0)
   right now, so that calls of this shape or smaller ones then allocate
   nothing: a caller that writes its outputs around several GEMM calls (the
   convolution driver) reserves first, and runs out of memory before
   writing anything. (Bytes depend on the thread count; a concurrent
   nb_set_num_threads() between the two may still make the GEMM allocate.)
   Release with nb_scratch_trim(NB_SCRATCH_GEMM). */
nb_status nb_gemm_driver_reserve(const nb_gemm_desc *d, int trans_a, int trans_b, int64_t M,
                                 int64_t N, int64_t K);

#endif
