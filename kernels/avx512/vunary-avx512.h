/* The loop of the AVX-512 elementwise kernels (AVX-512 TUs only; static
 * inline and macros, see KERNEL-PLAYBOOK pitfall 3). */
#ifndef NB_VUNARY_AVX512_H
#define NB_VUNARY_AVX512_H

#include <stddef.h>

#include <immintrin.h>

#include "ukernel.h"

/* y[i] = F(x[i]) for i < n: 32 elements per iteration (two independent
   vectors in flight), then one of 16, then one masked vector for the last
   1..15 (masked-out lanes are neither read, written nor faulted on; they
   read as 0). Each block loads its input before storing: y == x is fine. */
#define NB_AVX512_VUNARY_LOOP(F, n, x, y)                                          \
    do {                                                                           \
        size_t i_ = 0;                                                             \
        for (; i_ + 32 <= (n); i_ += 32) {                                         \
            const __m512 a_ = _mm512_loadu_ps((x) + i_);                           \
            const __m512 b_ = _mm512_loadu_ps((x) + i_ + 16);                      \
            _mm512_storeu_ps((y) + i_, F(a_));                                     \
            _mm512_storeu_ps((y) + i_ + 16, F(b_));                                \
        }                                                                          \
        if (i_ + 16 <= (n)) {                                                      \
            _mm512_storeu_ps((y) + i_, F(_mm512_loadu_ps((x) + i_)));              \
            i_ += 16;                                                              \
        }                                                                          \
        if (i_ < (n)) {                                                            \
            const __mmask16 m_ = (__mmask16)((1u << ((n) - i_)) - 1u);             \
            _mm512_mask_storeu_ps((y) + i_, m_, F(_mm512_maskz_loadu_ps(m_, (x) + i_))); \
        }                                                                          \
    } while (0)

#endif
