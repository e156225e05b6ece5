/* static inline helpers shared by the AVX-512 GEMM row kernels (AVX-512
 * TUs only, KERNEL-PLAYBOOK pitfall 3).
 *
 * The epilogue of the contract (src/gemm_driver.h), specialised the way
 * the 14x16 tile specialises it (same bits: 1*acc == acc exactly, and
 * fma(1, c, t) is the correctly rounded c + t):
 *   beta == 0:  c = alpha*acc                 (C not read)
 *   otherwise:  c = fma(beta, c, alpha*acc)
 * C is loaded and stored under the lane mask k: nothing outside [0, n) of
 * a row is read or written.
 */
#ifndef NB_GEMM_AVX512_H
#define NB_GEMM_AVX512_H

#include <stddef.h>
#include <stdint.h>

#include <immintrin.h>

#include "ukernel.h"

enum { NB_EPI512_STORE, NB_EPI512_SCALE, NB_EPI512_ADD, NB_EPI512_GENERAL };

static inline int nb_avx512_epilogue_mode(float alpha, float beta) {
    if (beta == 0.0f) return alpha == 1.0f ? NB_EPI512_STORE : NB_EPI512_SCALE;
    return alpha == 1.0f && beta == 1.0f ? NB_EPI512_ADD : NB_EPI512_GENERAL;
}

/* c[0..16) under k = the epilogue of acc. */
static inline __attribute__((always_inline))
void nb_avx512_gemm_store(int mode, __m512 acc, __m512 valpha, __m512 vbeta, __mmask16 k, float *c) {
    __m512 r;
    switch (mode) {
    case NB_EPI512_STORE: r = acc; break;
    case NB_EPI512_SCALE: r = _mm512_mul_ps(valpha, acc); break;
    case NB_EPI512_ADD:   r = _mm512_add_ps(_mm512_maskz_loadu_ps(k, c), acc); break;
    default: r = _mm512_fmadd_ps(vbeta, _mm512_maskz_loadu_ps(k, c), _mm512_mul_ps(valpha, acc)); break;
    }
    _mm512_mask_storeu_ps(c, k, r);
}

/* nb_avx512_gemm_store for all 16 lanes: plain loads and stores, the same
   arithmetic (same bits). Zen 4 (session 16, a store loop alone): a
   masked 512-bit store ~3.8 cycles, a plain one ~2.2, even under an
   all-ones mask. */
static inline __attribute__((always_inline))
void nb_avx512_gemm_store_full(int mode, __m512 acc, __m512 valpha, __m512 vbeta, float *c) {
    __m512 r;
    switch (mode) {
    case NB_EPI512_STORE: r = acc; break;
    case NB_EPI512_SCALE: r = _mm512_mul_ps(valpha, acc); break;
    case NB_EPI512_ADD:   r = _mm512_add_ps(_mm512_loadu_ps(c), acc); break;
    default: r = _mm512_fmadd_ps(vbeta, _mm512_loadu_ps(c), _mm512_mul_ps(valpha, acc)); break;
    }
    _mm512_storeu_ps(c, r);
}

static inline __mmask16 nb_avx512_gemm_mask(size_t n) {
    return (__mmask16)(n >= 16 ? 0xffffu : (1u << n) - 1u);
}

#endif
