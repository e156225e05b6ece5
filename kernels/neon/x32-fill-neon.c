/* Broadcast store of a 4-byte pattern: dst[0..n) = value (a strided copy
 * whose source has stride 0). ISA: AArch64 NEON, 16 elements (one 64-byte
 * line's worth) per iteration, unaligned stores. Tail: n >= 4 ends with one
 * store of the last 4 elements, overlapping the previous ones (they get the
 * same value again, so the overlap is harmless and nothing past dst[n-1] is
 * written); n < 4: scalar. Exact.
 */
#include <assert.h>
#include <string.h>

#include "reduce-neon.h"

void nb_x32_fill_ukernel__neon(int64_t n, uint32_t value, void *dst) {
    assert(n >= 0);
    uint32_t *d = dst;
    if (n < 4) {
        /* memcpy: dst may be only byte-aligned in principle (4-byte elements
           of any type); fixed-size, so it compiles to a plain store. */
        for (int64_t i = 0; i < n; i++) memcpy(d + i, &value, 4);
        return;
    }
    const uint32x4_t v = vdupq_n_u32(value);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        vst1q_u32(d + i, v);
        vst1q_u32(d + i + 4, v);
        vst1q_u32(d + i + 8, v);
        vst1q_u32(d + i + 12, v);
    }
    for (; i + 4 <= n; i += 4) vst1q_u32(d + i, v);
    if (i < n) vst1q_u32(d + n - 4, v);
}
