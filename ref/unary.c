/* Reference elementwise functions: y[i] = f(x[i]) with glibc's libm.
 *
 * The formulas here ARE the definitions the SIMD kernels follow (same
 * operation order, only the libm calls are replaced by SLEEF), so the SIMD
 * and reference paths differ only by the error of exp/log/tanh/erf:
 *   exp     expf(x)
 *   log     logf(x)                           (log(0) = -inf, log(x<0) = NaN)
 *   tanh    tanhf(x)
 *   sigmoid x >= 0: 1 / (1 + expf(-x));  x < 0: e / (1 + e), e = expf(x)
 *           Two branches so that expf never overflows: for x < -88.7 the
 *           naive 1/(1+expf(-x)) gives 0 where the answer is a tiny or
 *           subnormal number; here it is expf(x) itself.
 *   gelu    (0.5 x) (1 + erff(x * fl(1/sqrt 2)))    exact erf form, as PyTorch's
 *           default. gelu(-inf) is NaN (-inf * 0), as the formula evaluates and
 *           as PyTorch's CPU kernel; gelu(+inf) = +inf.
 *   relu    x > 0 ? x : 0, NaN stays NaN (as torch.relu), relu(-0) = +0.
 * In place (y == x) is allowed: element i is read before it is written.
 * Error bounds (measured over every third float against double libm, see the
 * README "Numerics" and tests/test_unary_accuracy.c): expf, logf, erff
 * <= 1 ULP, tanhf <= 2 ULP; sigmoid and gelu derived from those.
 */
#include <math.h>

#include "ref.h"

/* fl(1/sqrt(2)): the multiplier every backend uses, so the argument of erf
   is the same float on every path. */
#define NB_GELU_RSQRT2 0.70710678118654752440f

static float sigmoid1(float x) {
    if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
    const float e = expf(x);     /* also the NaN path: NaN >= 0 is false */
    return e / (1.0f + e);
}

static float gelu1(float x) {
    return (0.5f * x) * (1.0f + erff(x * NB_GELU_RSQRT2));
}

static float relu1(float x) {
    if (x > 0.0f) return x;
    return isnan(x) ? x : 0.0f;
}

nb_status nb_ref_sunary(nb_unary_op op, int64_t n, const float *x, float *y) {
    switch (op) {
    case NB_UNARY_EXP:     for (int64_t i = 0; i < n; i++) y[i] = expf(x[i]);     break;
    case NB_UNARY_LOG:     for (int64_t i = 0; i < n; i++) y[i] = logf(x[i]);     break;
    case NB_UNARY_TANH:    for (int64_t i = 0; i < n; i++) y[i] = tanhf(x[i]);    break;
    case NB_UNARY_SIGMOID: for (int64_t i = 0; i < n; i++) y[i] = sigmoid1(x[i]); break;
    case NB_UNARY_GELU:    for (int64_t i = 0; i < n; i++) y[i] = gelu1(x[i]);    break;
    case NB_UNARY_RELU:    for (int64_t i = 0; i < n; i++) y[i] = relu1(x[i]);    break;
    }
    return NB_OK;
}
