/* The elementwise functions' oracle and error bounds (double precision),
 * shared by tests/test_unary.c and the generated micro-kernel tests
 * (tests/test_ukernels.c). See test_unary.c's header for the derivations. */
#ifndef NBT_UNARY_ORACLE_H
#define NBT_UNARY_ORACLE_H

#include <math.h>

#include <nabla/nabla.h>

#define U 0x1p-24
#define NOPS 6
static const char *const op_names[NOPS] = {"exp", "log", "tanh", "sigmoid", "gelu", "relu"};

/* ULP bounds of the underlying function per backend: exp, log, tanh, erf. */
typedef struct { double exp, log, tanh, erf; } fn_bounds;
static const fn_bounds libm_bounds  = {1.0, 1.0, 3.0, 1.0};
static const fn_bounds sleef_bounds = {1.0, 1.0, 1.0, 1.1};
/* nabla's own polynomials on x86 (AVX2 and AVX-512 kernels): the bounds
   derived in kernels/avx2/vmath-avx2.h (DESIGN.md's table, with the maxima
   measured over all 2^32 inputs by tests/unary_ulp.c). */
static const fn_bounds x86_bounds = {1.7, 1.6, 4.5, 2.2};

static inline const fn_bounds *bounds_of(nb_isa isa) {
    if (isa == NB_ISA_REF) return &libm_bounds;
    return isa == NB_ISA_AVX2 || isa == NB_ISA_AVX512 ? &x86_bounds : &sleef_bounds;
}

/* The spacing of floats at |v| (the ulp of the float binade holding v). */
static inline double ulpf(double v) {
    v = fabs(v);
    if (v < 0x1p-126) return 0x1p-149;
    if (v >= 0x1p127) return 0x1p104;
    int e;
    frexp(v, &e);
    return ldexp(1.0, e - 24);
}

static inline double oracle(nb_unary_op op, float xf) {
    const double x = xf;
    switch (op) {
    case NB_UNARY_EXP:     return exp(x);
    case NB_UNARY_LOG:     return log(x);
    case NB_UNARY_TANH:    return tanh(x);
    case NB_UNARY_SIGMOID: return 1.0 / (1.0 + exp(-x));
    /* erfc form: no cancellation in the oracle itself for x < 0. Same value
       at the ends as the formula: +inf -> +inf, -inf -> -inf * 0 = NaN. */
    case NB_UNARY_GELU:    return isinf(x) ? (x > 0 ? x : NAN) : 0.5 * x * erfc(-x / sqrt(2.0));
    case NB_UNARY_RELU:    return isnan(x) ? x : (x > 0 ? x : 0.0);
    }
    return NAN;
}

/* Allowed |y - exact| for input x on a backend with function bounds b. */
static inline double allowed(nb_unary_op op, const fn_bounds *b, float xf, double exact) {
    const double x = xf, ax = fabs(x);
    double t = 0;
    switch (op) {
    case NB_UNARY_EXP:  t = b->exp * ulpf(exact); break;
    case NB_UNARY_LOG:  t = b->log * ulpf(exact); break;
    case NB_UNARY_TANH: t = b->tanh * ulpf(exact); break;
    case NB_UNARY_SIGMOID:
        t = (x >= 0 ? b->exp * U + 2 * U : 2 * b->exp * U + 2 * U) * fabs(exact) +
            (b->exp + 1) * 0x1p-149;
        break;
    case NB_UNARY_GELU:
        t = 0.5 * ax * (2 * b->erf * U * fabs(erf(x / sqrt(2.0))) + 3 * U) + U * fabs(exact) +
            0x1p-149;
        break;
    case NB_UNARY_RELU: t = 0; break;
    }
    return t * (1 + 0x1p-20);
}

/* |y - exact| with +-inf standing for +-2^128 (the float after FLT_MAX) and
   exact clamped there too, so a faithful overflow to inf measures 0 and
   FLT_MAX for a value just above it measures one ulp. */
static inline double error_of(float y, double exact) {
    const double lim = 0x1p128;
    double yd = isinf(y) ? copysign(lim, y) : (double)y;
    double ex = exact > lim ? lim : exact < -lim ? -lim : exact;
    return fabs(yd - ex);
}

/* y is within bound of f(x) on a backend with bounds b; NaN iff the oracle
   is NaN; relu also bitwise (relu(-0) = +0). Returns 1 when ok. */
static inline int within(nb_unary_op op, const fn_bounds *b, float x, float y, double *excess) {
    const double exact = oracle(op, x);
    if (isnan(exact) || isnan(y)) return isnan(exact) && isnan(y);
    if (op == NB_UNARY_RELU) return y == (float)exact && !signbit(y);
    const double err = error_of(y, exact), tol = allowed(op, b, x, exact);
    if (excess) *excess = tol > 0 ? err / tol : err;
    return err <= tol;
}

#endif
