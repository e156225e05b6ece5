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

#include "ukernel.h"   /* the micro-kernel contract and nb_gemm_desc */


/* The macro-kernel: C[0:m, 0:n] = the contract's epilogue of one KC block,
   over a packed A block (MR-row micro-panels, panel i/MR at a + i kc) and
   packed B panels (NR columns each, panel j/NR at b + j kc). Column panels
   outer, row panels inner, each tile by the micro-kernel: every caller of
   the micro-kernel on packed operands goes through here. */
void nb_gemm_macro_kernel(const nb_gemm_desc *d, int64_t m, int64_t n, int64_t kc,
                          const float *a, const float *b, float *c, int64_t ldc, float alpha,
                          float beta);

/* 1 when a packed B micro-panel of kc rows (kc x nr floats) is larger than
   this CPU's L1d (cpu_features.h; 0 when unknown). The packed path then
   runs each A block's row panels outer and its column panels inner (the A
   micro-panel stays in L1, the B panels stream from L2/L3) instead of
   nb_gemm_macro_kernel's order; configurations size NC by it too. Loop
   order and blocking never change a bit of C. */
int nb_gemm_driver_streams_b(const nb_gemm_desc *d, int64_t kc);

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

/* Prepacked B (nb_sgemm_pack_b): op(B) (K x N) packed once for the whole K
   into the packed path's panels, KC block after KC block
   (nb_gemm_driver_packed_b_floats floats, -1 on overflow; dst 64-byte
   aligned). nb_gemm_driver_run_prepacked is nb_gemm_driver_run's packed
   path over those panels (op(B) is never read or packed): each element
   gets the contract's KC blocks and FMA chains, so the bits of
   nb_gemm_driver_run on the same operands, for any thread count. */
int64_t nb_gemm_driver_packed_b_floats(const nb_gemm_desc *d, int64_t N, int64_t K);
void nb_gemm_driver_pack_b(const nb_gemm_desc *d, int trans_b, int64_t N, int64_t K,
                           const float *B, int64_t ldb, float *dst);
nb_status nb_gemm_driver_run_prepacked(const nb_gemm_desc *d, int trans_a, int64_t M, int64_t N,
                                       int64_t K, float alpha, const float *A, int64_t lda,
                                       const float *bpk, float beta, float *C, int64_t ldc);

#endif
