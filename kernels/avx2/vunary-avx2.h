/* Shared pieces of the AVX2 elementwise kernels (private; AVX2 TUs only).
 *
 * Only static inline helpers and macros here (never external inline
 * definitions: the same helper compiled under other ISA flags in another TU
 * must not be merged with this one by the linker).
 */
#ifndef NB_VUNARY_AVX2_H
#define NB_VUNARY_AVX2_H

#include <stddef.h>
#include <immintrin.h>

#include "mask-avx2.h"
#include "ukernel.h"


/* y[i] = F(x[i]) for i < n, 16 elements per iteration, then one vector of 8,
   then a masked vector for the last 1..7: maskload never touches (or faults
   on) the masked-out lanes, which read as 0.0f, and maskstore never writes
   them. Each block loads all of its input before storing, so y == x (in
   place) is fine; no restrict for the same reason. */
#define NB_AVX2_VUNARY_LOOP(F, n, x, y)                                         \
    do {                                                                        \
        size_t i_ = 0;                                                          \
        for (; i_ + 16 <= (n); i_ += 16) {                                      \
            const __m256 a_ = _mm256_loadu_ps((x) + i_);                        \
            const __m256 b_ = _mm256_loadu_ps((x) + i_ + 8);                    \
            _mm256_storeu_ps((y) + i_, F(a_));                                  \
            _mm256_storeu_ps((y) + i_ + 8, F(b_));                              \
        }                                                                       \
        if (i_ + 8 <= (n)) {                                                    \
            _mm256_storeu_ps((y) + i_, F(_mm256_loadu_ps((x) + i_)));           \
            i_ += 8;                                                            \
        }                                                                       \
        if (i_ < (n)) {                                                         \
            const __m256i m_ = nb_avx2_lane_mask((n) - i_);                     \
            nb_avx2_maskstore_first((y) + i_, m_, F(_mm256_maskload_ps((x) + i_, m_))); \
        }                                                                       \
    } while (0)

/* The micro-kernels: y[0..n) = f(x[0..n)), any alignment, y == x allowed. */
void nb_f32_vexp_ukernel__avx2_u16(size_t n, const float *x, float *y);
void nb_f32_vlog_ukernel__avx2_u16(size_t n, const float *x, float *y);
void nb_f32_vtanh_ukernel__avx2_u16(size_t n, const float *x, float *y);
void nb_f32_vsigmoid_ukernel__avx2_u16(size_t n, const float *x, float *y);
void nb_f32_vgelu_ukernel__avx2_u16(size_t n, const float *x, float *y);
void nb_f32_vrelu_ukernel__avx2_u16(size_t n, const float *x, float *y);
/* One row: y[0..n) = softmax or log_softmax of x[0..n), n >= 1. */
void nb_f32_softmax_ukernel__avx2(size_t n, const float *x, float *y);
void nb_f32_logsoftmax_ukernel__avx2(size_t n, const float *x, float *y);

/* Passes shared by the two row kernels (f32-softmax-avx2.c): the row max
   (n >= 1), and S = sum exp(x - m) in double, storing the exps to y unless
   y is NULL. */
float nb_avx2_softmax_row_max(size_t n, const float *x);
double nb_avx2_softmax_exp_sum(size_t n, const float *x, float m, float *y);


#endif
