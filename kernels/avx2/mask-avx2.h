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

#endif
