/* 2-D transpose of 4-byte elements: dst[i * ldd + j] = src[j * lds + i],
 * 0 <= i < m, 0 <= j < n (src row i is read down column i of the source).
 *
 * Tile: 8x8 in registers (16 half-row loads, 16 in-lane shuffles, 8
 * stores), two tiles side by side so each destination row gets a whole
 * cache line. nontemporal != 0 (the driver sets it for copies larger
 * than the last-level cache) uses streaming stores when the destination rows
 * are 32-byte aligned: no read-for-ownership of lines that are fully
 * overwritten. Blocking: strips of 64 destination rows; the caller bounds
 * n (the driver passes at most 512 columns per call, so a call's source
 * rows stay in the TLB and L2 for the next strip); inside a strip, 16
 * source rows at a time, so every 64-byte source and destination line is
 * used whole at once. Edges (m or n not a multiple of 8): scalar.
 * ISA: AVX2 (only AVX shuffles are needed). Bit moves only: exact, NaN
 * payloads included. Other element sizes go through the driver's generic
 * element loop.
 */
#include <assert.h>
#include <string.h>

#include "reduce-avx2.h"

/* Destination rows per strip: 64 source floats (256 bytes, 4 lines) are
   read from each source row per visit. Measured on the 64 MiB transpose
   (CPU time, one thread) with the old all-at-once prefetch: 64 -> 11.0,
   128 -> 12.9, 256 -> 11.4 GB/s; with the spread prefetch below
   (transpose_4096x4096 / nchw_to_nhwc_8x128x128x128, memcpy ~19.3):
   32 -> 14.3/8.6, 64 -> 15.6-15.7/13.7-13.9, 128 -> 13.5/12.8 GB/s. */
#define STRIP_ROWS 64

/* Transposes the 8x8 tile at s (rows lds apart) into out[0..8).
   Rows k and k+4 are loaded into the low and high 128-bit halves of one
   register (the insert takes its operand from memory, so it costs a load,
   not a shuffle), which leaves 16 in-lane shuffles instead of the 24 of the
   textbook unpack/shuffle/permute2f128 sequence (fewer shuffle-port uops;
   no measurable change on the memory-bound 64 MiB case here). */
static inline __m256 load_pair(const float *lo, const float *hi) {
    return _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(lo)), _mm_loadu_ps(hi), 1);
}

static inline void tile8x8(const float *s, int64_t lds, __m256 out[8]) {
    for (int h = 0; h < 2; h++) {           /* columns 4h..4h+3 */
        const float *c = s + 4 * h;
        const __m256 r0 = load_pair(c + 0 * lds, c + 4 * lds), r1 = load_pair(c + 1 * lds, c + 5 * lds);
        const __m256 r2 = load_pair(c + 2 * lds, c + 6 * lds), r3 = load_pair(c + 3 * lds, c + 7 * lds);
        const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
        const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
        out[4 * h + 0] = _mm256_shuffle_ps(t0, t2, 0x44);
        out[4 * h + 1] = _mm256_shuffle_ps(t0, t2, 0xEE);
        out[4 * h + 2] = _mm256_shuffle_ps(t1, t3, 0x44);
        out[4 * h + 3] = _mm256_shuffle_ps(t1, t3, 0xEE);
    }
}

static inline void store8(float *o, int64_t ldd, const __m256 a[8], const __m256 b[8], int stream) {
    if (stream) {
        for (int k = 0; k < 8; k++) {
            _mm256_stream_ps(o + k * ldd, a[k]);
            _mm256_stream_ps(o + k * ldd + 8, b[k]);
        }
    } else {
        for (int k = 0; k < 8; k++) {
            _mm256_storeu_ps(o + k * ldd, a[k]);
            _mm256_storeu_ps(o + k * ldd + 8, b[k]);
        }
    }
}

/* mi x nj block, mi <= STRIP_ROWS: d[i * ldd + j] = s[j * lds + i]. Walks source
   rows 16 at a time and, within them, 16x16 super-tiles (four 8x8 tiles)
   so every source line and every destination line is consumed whole at
   once: with power-of-two strides all source rows map to the same cache
   set, so a line cannot wait in L1 for a later pass. */
static void block(const float *s, int64_t lds, float *d, int64_t ldd, int64_t mi, int64_t nj,
                  int stream) {
    __m256 a[8], b[8];
    int64_t j = 0;
    for (; j + 16 <= nj; j += 16) {
        int64_t i = 0;
        for (; i + 8 <= mi; i += 8) {
            /* The next 16 source rows, one line of each every second tile
               step, so the prefetches are spread over the strip instead of
               128 issued at once (more than the line-fill buffers hold).
               Measured (GB/s, one thread, transpose_4096x4096 /
               nchw_to_nhwc_8x128x128x128, memcpy ~19.5): none 12.0/11.9;
               all at once (previous code) ~12.0/11.7; spread, 16 rows
               ahead, T0 13.0-13.3/12.3-12.5, 32 ahead 13.1/12.0; 16 ahead
               NTA 13.6/12.6, T1 13.5/12.8. */
            if ((i & 15) == 0) {
                if (j + 32 <= nj) {
                    for (int k = 16; k < 32; k++)
                        _mm_prefetch((const char *)(s + (j + k) * lds + i), _MM_HINT_T1);
                } else {
                    /* Last row group: the next visit is rows 0..15 of the
                       next strip (STRIP_ROWS columns on; the driver's next
                       item continues there too). Without this, a call with
                       few source rows (nchw_to_nhwc, C = 128: 8 groups a
                       strip) reads 1/8 of its lines unprefetched. Address
                       as an integer: it may lie past the array (the last
                       strip), where a prefetch is harmless. Measured
                       (GB/s, one thread, interleaved A/B runs, memcpy
                       ~20): nchw_to_nhwc_8x128x128x128 13.5-13.9 ->
                       14.0-14.9, transpose_4096x4096 15.4 -> 15.5-15.7. */
                    const uintptr_t a = (uintptr_t)(s + i) + STRIP_ROWS * sizeof(float);
                    for (int k = 0; k < 16; k++)
                        _mm_prefetch((const char *)(a + (uintptr_t)(k * lds) * sizeof(float)), _MM_HINT_T1);
                }
            }
            tile8x8(s + j * lds + i, lds, a);
            tile8x8(s + (j + 8) * lds + i, lds, b);
            store8(d + i * ldd + j, ldd, a, b, stream);
        }
        for (; i < mi; i++)
            for (int64_t k = j; k < j + 16; k++) memcpy(d + i * ldd + k, s + k * lds + i, 4);
    }
    for (; j + 8 <= nj; j += 8) {
        int64_t i = 0;
        for (; i + 8 <= mi; i += 8) {
            tile8x8(s + j * lds + i, lds, a);
            for (int k = 0; k < 8; k++) _mm256_storeu_ps(d + (i + k) * ldd + j, a[k]);
        }
        for (; i < mi; i++)
            for (int64_t k = j; k < j + 8; k++) memcpy(d + i * ldd + k, s + k * lds + i, 4);
    }
    for (; j < nj; j++)
        for (int64_t i = 0; i < mi; i++) memcpy(d + i * ldd + j, s + j * lds + i, 4);
}

void nb_x32_transpose_ukernel_8x8__avx2(int64_t m, int64_t n, const void *src, int64_t lds,
                                        void *dst, int64_t ldd, int nontemporal) {
    assert(m >= 0 && n >= 0);
    /* float loads/stores and shuffles move bits unchanged (no arithmetic). */
    const float *s = src;
    float *d = dst;
    /* Streaming stores need 32-byte aligned destination rows. */
    const int stream = nontemporal && ((uintptr_t)d & 31) == 0 && (ldd & 7) == 0;
    for (int64_t i0 = 0; i0 < m; i0 += STRIP_ROWS)
        block(s + i0, lds, d + i0 * ldd, ldd, m - i0 < STRIP_ROWS ? m - i0 : STRIP_ROWS, n, stream);
    if (stream) _mm_sfence();   /* order the streaming stores before returning */
}
