/* AVX2 reduction and copy micro-kernels (private to kernels/avx2/).
 *
 * Helpers here are static inline only: this header is included by TUs that
 * are all compiled with the same AVX2 flags (see KERNEL-PLAYBOOK pitfall 3).
 */
#ifndef NB_AVX2_REDUCE_H
#define NB_AVX2_REDUCE_H

#include <stdint.h>

#include <immintrin.h>

#include "mask-avx2.h"
#include "transpose-avx2.h"

#include "ukernel.h"

void  nb_f32_rsum_ukernel__avx2_u32(int64_t n, const float *x, int64_t incx, float *acc);
float nb_f32_rmax_ukernel__avx2_u32(int64_t n, const float *x, int64_t incx);
float nb_f32_rmin_ukernel__avx2_u32(int64_t n, const float *x, int64_t incx);
void  nb_f32_rrows_ukernel__avx2_8x8(int op, int64_t rows, int64_t n, const float *x, int64_t ldx,
                                     float *out);
void  nb_f32_raddcol_ukernel__avx2_u32(int64_t n, const float *x, float *acc);
void  nb_f32_rmaxcol_ukernel__avx2_u32(int64_t n, const float *x, float *acc);
void  nb_f32_rmincol_ukernel__avx2_u32(int64_t n, const float *x, float *acc);
void  nb_x32_transpose_ukernel_8x8__avx2(int64_t m, int64_t n, const void *src, int64_t lds,
                                         void *dst, int64_t ldd, int nontemporal);
void  nb_x32_fill_ukernel__avx2(int64_t n, uint32_t value, void *dst);



/* Software prefetch of the two cache lines NB_AVX2_PF_BYTES past p, for
 * streaming kernels that consume 128 bytes per step. Distance measured on
 * reduce/nabla/sum_16M/t1 and rowsum_4096x4096/t1 (GB/s, one thread, read
 * probe ~47): none 39.0/36.2, 2 KiB 40.3/38.1, 4 KiB 43.9/42.4, 8 KiB
 * 48.1/46.2, 12 KiB 48.9/45.7, 16 KiB 45.3/44.1: the hardware prefetcher
 * alone keeps too few lines in flight. Address computed as an integer (a
 * pointer past the end of the array would be undefined; a prefetch never
 * faults). */
#define NB_AVX2_PF_BYTES 8192
static inline void nb_avx2_prefetch_ahead(const float *p) {
    const uintptr_t a = (uintptr_t)p + NB_AVX2_PF_BYTES;
    _mm_prefetch((const char *)a, _MM_HINT_T0);
    _mm_prefetch((const char *)(a + 64), _MM_HINT_T0);
}

/* max / min with nabla's rules, lane by lane:
 *   - vmaxps/vminps return their SECOND operand when either is NaN and
 *     also when the two compare equal (+0 vs -0). Taking both operand orders
 *     and AND-ing (max) / OR-ing (min) the bits makes the zero tie
 *     order-free: +0 & -0 = +0 for max, +0 | -0 = -0 for min; equal non-zero
 *     values have equal bits, so the AND/OR changes nothing there.
 *   - NaN: where either input is NaN (unordered) the result is a + b, which
 *     is NaN; so a NaN anywhere in a chain stays NaN. */
static inline __m256 nb_avx2_max_nan(__m256 a, __m256 b) {
    const __m256 r = _mm256_and_ps(_mm256_max_ps(a, b), _mm256_max_ps(b, a));
    return _mm256_blendv_ps(r, _mm256_add_ps(a, b), _mm256_cmp_ps(a, b, _CMP_UNORD_Q));
}
static inline __m256 nb_avx2_min_nan(__m256 a, __m256 b) {
    const __m256 r = _mm256_or_ps(_mm256_min_ps(a, b), _mm256_min_ps(b, a));
    return _mm256_blendv_ps(r, _mm256_add_ps(a, b), _mm256_cmp_ps(a, b, _CMP_UNORD_Q));
}


/* Contiguous body of rmax/rmin; fast: see the fast pass below. */
static inline float nb_avx2_rminmax_contig(int64_t n, const float *x, int is_max, int fast) {
    const __m256 first = _mm256_set1_ps(x[0]);
    __m256 a0 = first, a1 = first, a2 = first, a3 = first;
#define NB_MM(a, b) (is_max ? nb_avx2_max_nan(a, b) : nb_avx2_min_nan(a, b))
#define NB_MM_PLAIN(a, b) (is_max ? _mm256_max_ps(a, b) : _mm256_min_ps(a, b))
    int64_t i = 0;
    if (fast && n >= 64) {
        /* Fast pass: bare vmaxps/vminps (3 uops a vector fewer than the
           exact rule, which made max ~30% slower than sum at memory speed),
           with NaN detected on the side. A bare vmaxps is exact except on
           NaN and on the +-0 tie, and the tie can only matter if the result
           is a zero: in those two cases (rare) the exact pass below reruns
           from the start, so the bits never depend on the fast pass. */
        __m256 un = _mm256_setzero_ps();
        for (; i + 32 <= n; i += 32) {
            nb_avx2_prefetch_ahead(x + i);
            const __m256 x0 = _mm256_loadu_ps(x + i), x1 = _mm256_loadu_ps(x + i + 8);
            const __m256 x2 = _mm256_loadu_ps(x + i + 16), x3 = _mm256_loadu_ps(x + i + 24);
            a0 = NB_MM_PLAIN(x0, a0);
            a1 = NB_MM_PLAIN(x1, a1);
            a2 = NB_MM_PLAIN(x2, a2);
            a3 = NB_MM_PLAIN(x3, a3);
            un = _mm256_or_ps(un, _mm256_or_ps(_mm256_cmp_ps(x0, x1, _CMP_UNORD_Q),
                                               _mm256_cmp_ps(x2, x3, _CMP_UNORD_Q)));
        }
        if (!_mm256_testz_ps(un, un)) {
            i = 0;
            a0 = a1 = a2 = a3 = first;
        }
    }
    for (; i + 32 <= n; i += 32) {
        a0 = NB_MM(a0, _mm256_loadu_ps(x + i));
        a1 = NB_MM(a1, _mm256_loadu_ps(x + i + 8));
        a2 = NB_MM(a2, _mm256_loadu_ps(x + i + 16));
        a3 = NB_MM(a3, _mm256_loadu_ps(x + i + 24));
    }
    for (; i + 8 <= n; i += 8) a0 = NB_MM(a0, _mm256_loadu_ps(x + i));
    if (i < n) {
        /* Masked-off lanes are replaced by x[0], which is already in. */
        const __m256i mk = nb_avx2_lane_mask(n - i);
        const __m256 t = _mm256_blendv_ps(first, _mm256_maskload_ps(x + i, mk), _mm256_castsi256_ps(mk));
        a1 = NB_MM(a1, t);
    }
    a0 = NB_MM(NB_MM(a0, a1), NB_MM(a2, a3));
    __m128 h = _mm256_castps256_ps128(a0), l = _mm256_extractf128_ps(a0, 1);
    const __m256 c = _mm256_castps128_ps256(h);
    a0 = NB_MM(c, _mm256_castps128_ps256(l));          /* lanes 0..3 valid */
    a0 = NB_MM(a0, _mm256_permute_ps(a0, 0x4E));        /* 0,1 valid */
    a0 = NB_MM(a0, _mm256_permute_ps(a0, 0xB1));        /* 0 valid */
#undef NB_MM
#undef NB_MM_PLAIN
    return _mm256_cvtss_f32(a0);
}

/* Shared body of rmax/rmin (is_max is a compile-time constant at each call). */
static inline float nb_avx2_rminmax(int64_t n, const float *x, int64_t incx, int is_max) {
    if (incx != 1) {
        float r = x[0];
        for (int64_t i = 1; i < n; i++) r = nb_f32_pick(r, x[i * incx], is_max);
        return r;
    }
    const float r = nb_avx2_rminmax_contig(n, x, is_max, 1);
    /* A zero result may carry the fast pass's tie sign: redo it exactly. */
    return r == 0.0f ? nb_avx2_rminmax_contig(n, x, is_max, 0) : r;
}

/* Shared body of the column kernels: acc[j] = op(acc[j], x[j]). */
#define NB_AVX2_COL_KERNEL(OP)                                                   \
    int64_t j = 0;                                                               \
    for (; j + 32 <= n; j += 32) {                                               \
        nb_avx2_prefetch_ahead(x + j);                                           \
        _mm256_storeu_ps(acc + j,      OP(_mm256_loadu_ps(acc + j),      _mm256_loadu_ps(x + j)));      \
        _mm256_storeu_ps(acc + j + 8,  OP(_mm256_loadu_ps(acc + j + 8),  _mm256_loadu_ps(x + j + 8)));  \
        _mm256_storeu_ps(acc + j + 16, OP(_mm256_loadu_ps(acc + j + 16), _mm256_loadu_ps(x + j + 16))); \
        _mm256_storeu_ps(acc + j + 24, OP(_mm256_loadu_ps(acc + j + 24), _mm256_loadu_ps(x + j + 24))); \
    }                                                                            \
    for (; j + 8 <= n; j += 8)                                                   \
        _mm256_storeu_ps(acc + j, OP(_mm256_loadu_ps(acc + j), _mm256_loadu_ps(x + j)));            \
    if (j < n) {                                                                 \
        const __m256i mk = nb_avx2_lane_mask(n - j);                             \
        nb_avx2_maskstore_first(acc + j, mk, OP(_mm256_maskload_ps(acc + j, mk), _mm256_maskload_ps(x + j, mk))); \
    }

#endif
