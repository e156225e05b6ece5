/* 2-D transpose of 4-byte elements: dst[i * ldd + j] = src[j * lds + i],
 * 0 <= i < m, 0 <= j < n (src row i is read down column i of the source).
 *
 * Tile: 16x16 in registers (nb_avx512_tile16x16: 64 128-bit loads, 32
 * in-lane shuffles, 16 stores), so each destination row gets one whole
 * 64-byte line per tile and each source row gives one whole line.
 * nontemporal != 0 (the driver sets it for copies larger than the
 * last-level cache) uses streaming stores when the destination rows are
 * 64-byte aligned: no read-for-ownership of lines that are fully
 * overwritten. Blocking (the AVX2 kernel's, measured there): strips of 64
 * destination rows (256 bytes of every source row per visit); the caller
 * bounds n (at most 512 columns a call); inside a strip, 16 source rows at
 * a time, with the next 16 rows' lines prefetched one tile ahead. Edges (m
 * or n not a multiple of 16): the same tile with masked loads and stores,
 * nothing outside the matrices is read or written. ISA: AVX-512F/VL. Bit
 * moves only: exact, NaN payloads included.
 */
#include <assert.h>

#include "reduce-avx512.h"

#define STRIP_ROWS 64

/* mi x nj block, mi <= STRIP_ROWS: d[i * ldd + j] = s[j * lds + i]. */
static void block(const float *s, int64_t lds, float *d, int64_t ldd, int64_t mi, int64_t nj,
                  int stream) {
    __m512 t[16];
    for (int64_t j = 0; j < nj; j += 16) {
        const int64_t rows = nj - j < 16 ? nj - j : 16;
        for (int64_t i = 0; i < mi; i += 16) {
            const int64_t cols = mi - i < 16 ? mi - i : 16;
            if (rows == 16 && j + 32 <= nj) {
                for (int k = 16; k < 32; k++)
                    _mm_prefetch((const char *)(s + (j + k) * lds + i), _MM_HINT_T1);
            } else if (rows == 16 && i == 0) {
                /* Last row group of the strip: the next visit is rows 0..15
                   of the next strip (the AVX2 kernel measured the gain on
                   few-row calls such as NCHW -> NHWC). Integer address: it
                   may lie past the array, where a prefetch is harmless. */
                const uintptr_t a = (uintptr_t)s + STRIP_ROWS * sizeof(float);
                for (int k = 0; k < 16; k++)
                    _mm_prefetch((const char *)(a + (uintptr_t)(k * lds) * sizeof(float)), _MM_HINT_T1);
            }
            if (rows == 16 && cols == 16) nb_avx512_tile16x16_lines(s + j * lds + i, lds, t);
            else nb_avx512_tile16x16(s + j * lds + i, lds, rows, cols, t);
            float *o = d + i * ldd + j;
            if (rows == 16 && cols == 16 && stream) {
                for (int c = 0; c < 16; c++) _mm512_stream_ps(o + c * ldd, t[c]);
            } else if (rows == 16 && cols == 16) {
                for (int c = 0; c < 16; c++) _mm512_storeu_ps(o + c * ldd, t[c]);
            } else {
                const __mmask16 k = nb_avx512_mask(rows);
                for (int c = 0; c < cols; c++) _mm512_mask_storeu_ps(o + c * ldd, k, t[c]);
            }
        }
    }
}

void nb_x32_transpose_ukernel_16x16__avx512(int64_t m, int64_t n, const void *src, int64_t lds,
                                            void *dst, int64_t ldd, int nontemporal) {
    assert(m >= 0 && n >= 0);
    const float *s = src;   /* float moves change no bits */
    float *d = dst;
    const int stream = nontemporal && ((uintptr_t)d & 63) == 0 && (ldd & 15) == 0;
    for (int64_t i0 = 0; i0 < m; i0 += STRIP_ROWS)
        block(s + i0, lds, d + i0 * ldd, ldd, m - i0 < STRIP_ROWS ? m - i0 : STRIP_ROWS, n, stream);
    if (stream) _mm_sfence();   /* order the streaming stores before returning */
}
