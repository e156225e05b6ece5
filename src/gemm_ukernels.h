/* GEMM micro-kernels and packing routines of every ISA (private).
 *
 * Declarations only (no intrinsics), so portable code and tests can name
 * them; calling one requires the CPU to support its ISA (check
 * nb_kernels_for()/nb_cpu_features() first). Contracts: gemm_driver.h.
 */
#ifndef NB_GEMM_UKERNELS_H
#define NB_GEMM_UKERNELS_H

#include "gemm_driver.h"
#include "nb_config.h"

#if NB_BUILD_AVX2
/* AVX2+FMA: 6x16 tile (12 YMM accumulators). */
void nb_f32_gemm_ukernel_6x16__avx2(size_t m, size_t n, size_t k,
                                    const float *a, const float *b,
                                    float *c, ptrdiff_t ldc, float alpha, float beta);
void nb_f32_gemm_ukernel_6x16__avx2_adirect(size_t m, size_t n, size_t k,
                                            const float *a, ptrdiff_t lda, const float *b,
                                            float *c, ptrdiff_t ldc, float alpha, float beta);
void nb_f32_packa_ukernel_6__avx2(int trans, size_t m, size_t k,
                                  const float *a, ptrdiff_t lda, float *dst);
void nb_f32_packb_ukernel_16__avx2(int trans, size_t k, size_t n,
                                   const float *b, ptrdiff_t ldb, float *dst);
/* No-pack small-M path: m <= 4 rows, n <= 1024 columns, B read in place. */
void nb_f32_gemm_ukernel_4xn__avx2_nopack(size_t m, size_t n, size_t k,
                                          const float *a, ptrdiff_t rs_a, ptrdiff_t cs_a,
                                          const float *b, ptrdiff_t ldb,
                                          float *c, ptrdiff_t ldc, float alpha, float beta);
void nb_f32_gemm_ukernel_4xn__avx2_nopack_bt(size_t m, size_t n, size_t K, size_t kc,
                                             const float *a, ptrdiff_t rs_a, ptrdiff_t cs_a,
                                             const float *b, ptrdiff_t ldb,
                                             float *c, ptrdiff_t ldc, float alpha, float beta);
/* The AVX2 descriptor (tile, blocking, kernels) and the table entry. */
extern const nb_gemm_desc nb_avx2_sgemm_desc;
nb_status nb_avx2_sgemm(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                        float alpha, const float *A, int64_t lda,
                        const float *B, int64_t ldb,
                        float beta, float *C, int64_t ldc);
#endif

#if NB_BUILD_NEON
/* AArch64 Advanced SIMD with FMA: 8x12 tile (24 Q-register accumulators). */
void nb_f32_gemm_ukernel_8x12__neonfma(size_t m, size_t n, size_t k,
                                       const float *a, const float *b,
                                       float *c, ptrdiff_t ldc, float alpha, float beta);
void nb_f32_packa_ukernel_8__neon(int trans, size_t m, size_t k,
                                  const float *a, ptrdiff_t lda, float *dst);
void nb_f32_packb_ukernel_12__neon(int trans, size_t k, size_t n,
                                   const float *b, ptrdiff_t ldb, float *dst);
/* No-pack small-M path: m <= 4 rows, n <= 1024 columns, B read in place. */
void nb_f32_gemm_ukernel_4xn__neonfma_nopack(size_t m, size_t n, size_t k,
                                             const float *a, ptrdiff_t rs_a, ptrdiff_t cs_a,
                                             const float *b, ptrdiff_t ldb,
                                             float *c, ptrdiff_t ldc, float alpha, float beta);
/* The NEON descriptor (tile, blocking, kernels) and the table entry. */
extern const nb_gemm_desc nb_neon_sgemm_desc;
nb_status nb_neon_sgemm(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                        float alpha, const float *A, int64_t lda,
                        const float *B, int64_t ldb,
                        float beta, float *C, int64_t ldc);
#endif

#endif
