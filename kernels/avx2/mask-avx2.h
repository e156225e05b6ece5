/* The one lane-mask helper of the AVX2 kernels (AVX2 TUs only; static
 * inline, see KERNEL-PLAYBOOK pitfall 3). */
#ifndef NB_MASK_AVX2_H
#define NB_MASK_AVX2_H

#include <stdint.h>

#include <immintrin.h>

/* Lanes [0, n) set, n in [0, 8]: a mask for _mm256_maskload_ps /
   _mm256_maskstore_ps, which neither read, write nor fault on the cleared
   lanes (a masked load returns 0 there). */
static inline __m256i nb_avx2_lane_mask(int64_t n) {
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), idx);
}

/* Stores lanes [0, n) of v to p[0 .. n-1], n in [0, 8], with plain 16-,
   8- and 4-byte stores: nothing at or past p + n is written. Replaces
   _mm256_maskstore_ps for the tails: vmaskmovps to memory is microcoded on
   AMD (Zen 2 to Zen 4: one every ~12 cycles, 40-odd macro-ops), where these
   are 1 to 3 ordinary stores. */
static inline void nb_avx2_store_first(float *p, __m256 v, int64_t n) {
    if (n >= 8) {
        _mm256_storeu_ps(p, v);
        return;
    }
    __m128 h = _mm256_castps256_ps128(v);
    if (n & 4) {
        _mm_storeu_ps(p, h);
        h = _mm256_extractf128_ps(v, 1);
        p += 4;
    }
    if (n & 2) {
        _mm_storel_pi((__m64 *)(void *)p, h);
        h = _mm_movehl_ps(h, h);
        p += 2;
    }
    if (n & 1) _mm_store_ss(p, h);
}

/* _mm256_maskstore_ps(p, m, v) for a prefix mask m (lanes [0, n) set, as
   nb_avx2_lane_mask builds): n is the count of trailing set sign bits. */
static inline void nb_avx2_maskstore_first(float *p, __m256i m, __m256 v) {
    const unsigned bits = (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(m));
    nb_avx2_store_first(p, v, __builtin_ctz(~bits));   /* bit 8 of ~bits is set */
}

#endif
