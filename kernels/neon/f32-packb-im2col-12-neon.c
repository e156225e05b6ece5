/* Implicit im2col: the forward convolution's B micro-panels (12 output
 * pixels wide, the 8x12 GEMM kernel's NR) packed straight from the image
 * (contract: nb_conv_pack_b_fn in src/conv_driver.h). Exact (a copy).
 *
 * Panel by panel, row by row, as the AVX2 packer: FULL rows of stride_w 1
 * (the interior of the image) are three 4-lane loads and stores; rows next to the
 * padding, past the block or wrapping to the next output row pick their
 * lanes one by one through off and mask (NEON has no masked load or
 * gather); ZERO rows store
 * zeros. The channel advances every RS rows.
 */
#include <arm_neon.h>

#include "conv-neon.h"

_Static_assert(NB_TAP_KINDS == 5, "a new plan kind needs a case here");

void nb_f32_packb_im2col_ukernel_12__neon(const nb_conv_tap *plan, int64_t rs, int64_t l0,
                                          int64_t kc, int64_t panels, const float *x, int64_t hw,
                                          float *dst) {
    const float32x4_t zero = vdupq_n_f32(0.0f);
    for (int64_t p = 0; p < panels; p++) {
        const nb_conv_tap *pl = plan + p * rs;
        int64_t t = l0 % rs;
        const float *xc = x + (l0 / rs) * hw;
        float *o = dst + p * kc * 12;
        for (int64_t l = 0; l < kc; l++, o += 12) {
            const nb_conv_tap *e = pl + t;
            switch (e->step == 1 ? e->kind : e->kind == NB_TAP_ZERO ? NB_TAP_ZERO : NB_TAP_GATHER) {
            case NB_TAP_FULL: {
                const float *s = xc + e->base;
                vst1q_f32(o, vld1q_f32(s));
                vst1q_f32(o + 4, vld1q_f32(s + 4));
                vst1q_f32(o + 8, vld1q_f32(s + 8));
                break;
            }
            case NB_TAP_ZERO:
                vst1q_f32(o, zero);
                vst1q_f32(o + 4, zero);
                vst1q_f32(o + 8, zero);
                break;
            default:   /* CONTIG, SPLIT, GATHER, stride 2: off and mask are always filled */
                for (int i = 0; i < 12; i++) o[i] = e->mask[i] ? xc[e->off[i]] : 0.0f;
                break;
            }
            if (++t == rs) {
                t = 0;
                xc += hw;
            }
        }
    }
}
