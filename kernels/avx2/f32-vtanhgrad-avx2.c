/* y = a * (1 - b * b) (tanh's gradient: a = incoming gradient, b = tanh output;
 * three roundings in this order, the tensor layer's composition), float32, elementwise, in the three row layouts of
 * src/ukernel.h ("elementwise binary rows"). AVX2: 16 floats per step (two
 * YMM), then 8, then a masked tail (no access outside [0, n)); any
 * alignment. Separate multiply and subtract (no FMA): the bits of
 * nb_f32_vtanhgrad_ukernel__scalar and its siblings (NaN payloads aside). */
#include <assert.h>

#include "vbinary-avx2.h"
#include "ukernel.h"

void nb_f32_vtanhgrad_ukernel__avx2_u16(size_t n, const float *a, const float *b, float *y) {
    assert(n == 0 || (a && b && y));
    NB_AVX2_VBINARY_ROW(nb_avx2_vtanhgrad, NB_AVX2_LA, NB_AVX2_LB, NB_AVX2_MLA, NB_AVX2_MLB);
}

void nb_f32_vtanhgradc_ukernel__avx2_u16(size_t n, const float *a, float c, float *y) {
    assert(n == 0 || (a && y));
    const __m256 vc = _mm256_set1_ps(c);
    NB_AVX2_VBINARY_ROW(nb_avx2_vtanhgrad, NB_AVX2_LA, NB_AVX2_LC, NB_AVX2_MLA, NB_AVX2_MLC);
}

void nb_f32_vrtanhgradc_ukernel__avx2_u16(size_t n, const float *a, float c, float *y) {
    assert(n == 0 || (a && y));
    const __m256 vc = _mm256_set1_ps(c);
    NB_AVX2_VBINARY_ROW(nb_avx2_vtanhgrad, NB_AVX2_LC, NB_AVX2_LA, NB_AVX2_MLC, NB_AVX2_MLA);
}
