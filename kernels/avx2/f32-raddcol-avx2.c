/* Column-sum micro-kernel: acc[j] += x[j], 0 <= j < n, both contiguous.
 *
 * The driver streams whole rows of a (rows x n) block through it with
 * vertical adds into an L1-resident accumulator strip (column sums at memory
 * speed). ISA: AVX2, 64 floats per iteration, the 8 row vectors loaded
 * before the accumulator read-modify-writes. Tail: masked load/store.
 * Accuracy: one rounding per element per call (the same adds as 32 floats
 * an iteration: columns are independent).
 *
 * Measured (reduce/nabla/colsum_4096x4096/t1, one thread, GB/s, machine
 * read probe ~45.5 in the same runs): the shared 32-float body
 * (NB_AVX2_COL_KERNEL, load-add-store interleaved) 39.3-40.2, this body
 * 42.7-43.3. Not the cause: 4K aliasing (accumulator placed at the row's
 * address mod 4 KiB: no change), the 128-row segment memset/cascade (128 ->
 * 8192 rows a segment, experiment only: no change), prefetch distance
 * (4/12/16/24 KiB: 34.0/40.2/39.6/35.9) or hint (T1 27.9, NTA 40.4).
 */
#include <assert.h>

#include "reduce-avx2.h"

void nb_f32_raddcol_ukernel__avx2_u32(int64_t n, const float *x, float *acc) {
    assert(n >= 0);
    int64_t j = 0;
    for (; j + 64 <= n; j += 64) {
        nb_avx2_prefetch_ahead(x + j);
        nb_avx2_prefetch_ahead(x + j + 32);
        const __m256 x0 = _mm256_loadu_ps(x + j), x1 = _mm256_loadu_ps(x + j + 8);
        const __m256 x2 = _mm256_loadu_ps(x + j + 16), x3 = _mm256_loadu_ps(x + j + 24);
        const __m256 x4 = _mm256_loadu_ps(x + j + 32), x5 = _mm256_loadu_ps(x + j + 40);
        const __m256 x6 = _mm256_loadu_ps(x + j + 48), x7 = _mm256_loadu_ps(x + j + 56);
        _mm256_storeu_ps(acc + j, _mm256_add_ps(_mm256_loadu_ps(acc + j), x0));
        _mm256_storeu_ps(acc + j + 8, _mm256_add_ps(_mm256_loadu_ps(acc + j + 8), x1));
        _mm256_storeu_ps(acc + j + 16, _mm256_add_ps(_mm256_loadu_ps(acc + j + 16), x2));
        _mm256_storeu_ps(acc + j + 24, _mm256_add_ps(_mm256_loadu_ps(acc + j + 24), x3));
        _mm256_storeu_ps(acc + j + 32, _mm256_add_ps(_mm256_loadu_ps(acc + j + 32), x4));
        _mm256_storeu_ps(acc + j + 40, _mm256_add_ps(_mm256_loadu_ps(acc + j + 40), x5));
        _mm256_storeu_ps(acc + j + 48, _mm256_add_ps(_mm256_loadu_ps(acc + j + 48), x6));
        _mm256_storeu_ps(acc + j + 56, _mm256_add_ps(_mm256_loadu_ps(acc + j + 56), x7));
    }
    for (; j + 8 <= n; j += 8)
        _mm256_storeu_ps(acc + j, _mm256_add_ps(_mm256_loadu_ps(acc + j), _mm256_loadu_ps(x + j)));
    if (j < n) {
        const __m256i mk = nb_avx2_lane_mask(n - j);
        nb_avx2_maskstore_first(acc + j, mk, _mm256_add_ps(_mm256_maskload_ps(acc + j, mk), _mm256_maskload_ps(x + j, mk)));
    }
}
