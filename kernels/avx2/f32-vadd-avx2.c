/* y = a + b, float32, elementwise, in the three row layouts of
 * src/ukernel.h ("elementwise binary rows"). AVX2: 16 floats per step (two
 * YMM), then 8, then a masked tail (no access outside [0, n)); any
 * alignment. One IEEE operation per element: the bits of
 * nb_f32_vadd_ukernel__scalar and its siblings (NaN payloads aside). */
#include <assert.h>

#include "vbinary-avx2.h"
#include "ukernel.h"

void nb_f32_vadd_ukernel__avx2_u16(size_t n, const float *a, const float *b, float *y) {
    assert(n == 0 || (a && b && y));
    NB_AVX2_VBINARY_ROW(_mm256_add_ps, NB_AVX2_LA, NB_AVX2_LB, NB_AVX2_MLA, NB_AVX2_MLB);
}

void nb_f32_vaddc_ukernel__avx2_u16(size_t n, const float *a, float c, float *y) {
    assert(n == 0 || (a && y));
    const __m256 vc = _mm256_set1_ps(c);
    NB_AVX2_VBINARY_ROW(_mm256_add_ps, NB_AVX2_LA, NB_AVX2_LC, NB_AVX2_MLA, NB_AVX2_MLC);
}

void nb_f32_vraddc_ukernel__avx2_u16(size_t n, const float *a, float c, float *y) {
    assert(n == 0 || (a && y));
    const __m256 vc = _mm256_set1_ps(c);
    NB_AVX2_VBINARY_ROW(_mm256_add_ps, NB_AVX2_LC, NB_AVX2_LA, NB_AVX2_MLC, NB_AVX2_MLA);
}
