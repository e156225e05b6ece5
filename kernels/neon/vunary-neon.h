/* Shared pieces of the NEON elementwise kernels (private; NEON TUs only).
 * Only static inline helpers and macros here. */
#ifndef NB_VUNARY_NEON_H
#define NB_VUNARY_NEON_H

#include <stddef.h>
#include <string.h>
#include <arm_neon.h>

#include "ukernel.h"

/* y[i] = F(x[i]) for i < n: 8 elements per iteration, then one vector of 4,
   then the last 1..3 through a 4-float stack buffer (NEON has no masked
   loads; the buffer's unused lanes are 0 and are never copied out), so no
   byte outside x[0..n) / y[0..n) is touched. Each block loads before it
   stores: y == x (in place) is fine; no restrict for that reason. */
#define NB_NEON_VUNARY_LOOP(F, n, x, y)                                         \
    do {                                                                        \
        size_t i_ = 0;                                                          \
        for (; i_ + 8 <= (n); i_ += 8) {                                        \
            const float32x4_t a_ = vld1q_f32((x) + i_);                         \
            const float32x4_t b_ = vld1q_f32((x) + i_ + 4);                     \
            vst1q_f32((y) + i_, F(a_));                                         \
            vst1q_f32((y) + i_ + 4, F(b_));                                     \
        }                                                                       \
        if (i_ + 4 <= (n)) {                                                    \
            vst1q_f32((y) + i_, F(vld1q_f32((x) + i_)));                        \
            i_ += 4;                                                            \
        }                                                                       \
        if (i_ < (n)) {                                                         \
            float buf_[4] = {0.0f, 0.0f, 0.0f, 0.0f};                           \
            memcpy(buf_, (x) + i_, ((n) - i_) * sizeof(float));                 \
            vst1q_f32(buf_, F(vld1q_f32(buf_)));                                \
            memcpy((y) + i_, buf_, ((n) - i_) * sizeof(float));                 \
        }                                                                       \
    } while (0)

/* Lanes 0..r-1 set (r in 0..4). */
static inline uint32x4_t nb_neon_lane_mask(size_t r) {
    static const uint32_t idx[4] = {0, 1, 2, 3};
    return vcltq_u32(vld1q_u32(idx), vdupq_n_u32((uint32_t)r));
}

void nb_f32_vexp_ukernel__neon_u8(size_t n, const float *x, float *y);
void nb_f32_vlog_ukernel__neon_u8(size_t n, const float *x, float *y);
void nb_f32_vtanh_ukernel__neon_u8(size_t n, const float *x, float *y);
void nb_f32_vsigmoid_ukernel__neon_u8(size_t n, const float *x, float *y);
void nb_f32_vgelu_ukernel__neon_u8(size_t n, const float *x, float *y);
void nb_f32_vrelu_ukernel__neon_u8(size_t n, const float *x, float *y);
void nb_f32_softmax_ukernel__neon(size_t n, const float *x, float *y);
void nb_f32_logsoftmax_ukernel__neon(size_t n, const float *x, float *y);

/* Passes shared by the two row kernels (f32-softmax-neon.c). */
float nb_neon_softmax_row_max(size_t n, const float *x);
double nb_neon_softmax_exp_sum(size_t n, const float *x, float m, float *y);


#endif
