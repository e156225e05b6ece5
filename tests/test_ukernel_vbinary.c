/* The elementwise binary micro-kernels (src/ukernel.h, "elementwise binary
 * rows"), one test case per micro-kernel of the registry
 * (the NB_UK_VBINARY lines of the registries): every SIMD micro-kernel against its plain-C
 * twin bit for bit (NaN by class: with two NaN operands the payload may come
 * from either), the plain-C twins against a double-precision oracle (a
 * float +, -, *, / rounded from double is the correctly rounded float
 * result: double has more than 2 * 24 + 2 bits; the gradient rules round
 * after each operation). Sizes 0 .. 33 (every tail
 * of a 16-float step, twice), primes and one large size; pointers offset by
 * one float; buffers against guard pages on either side; random values and
 * special ones (NaN, +-Inf, +-0, denormals, FLT_MAX); in place (y == a,
 * and y == b for the vector-vector layout). Micro-kernels of an ISA this
 * CPU cannot run are skipped.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "isa_ops.h"
#include "ukernel.h"

enum { LAYOUT_VV, LAYOUT_VC, LAYOUT_RC };

typedef struct {
    const char *op_name, *tag;
    nb_isa isa;
    nb_vbinary_op op;
    int layout;
    nb_f32_vbinary_fn vv, twin_vv;
    nb_f32_vbinaryc_fn vc, twin_vc;
} entry;

#define ENTRIES(op, name, isa, tag)                                                              \
    {#name, #tag, isa, op, LAYOUT_VV, nb_f32_v##name##_ukernel__##tag,                           \
     nb_f32_v##name##_ukernel__scalar, NULL, NULL},                                              \
    {#name, #tag, isa, op, LAYOUT_VC, NULL, NULL, nb_f32_v##name##c_ukernel__##tag,              \
     nb_f32_v##name##c_ukernel__scalar},                                                         \
    {#name, #tag, isa, op, LAYOUT_RC, NULL, NULL, nb_f32_vr##name##c_ukernel__##tag,             \
     nb_f32_vr##name##c_ukernel__scalar},
static const entry registry[] = {
#define NB_UK_VBINARY(tag) NB_F32_VBINARY_OPS(ENTRIES, NB_UK_ISA, tag)
#include "ukernel_registry.h"
};
#define N_ENTRIES (sizeof registry / sizeof registry[0])

/* The exact result, rounded once to float. */
static float oracle(nb_vbinary_op op, float a, float b) {
    const double x = a, y = b;
    switch (op) {
    case NB_VBIN_ADD: return (float)(x + y);
    case NB_VBIN_SUB: return (float)(x - y);
    case NB_VBIN_MUL: return (float)(x * y);
    case NB_VBIN_DIV: return (float)(x / y);
    case NB_VBIN_EQ: return x == y ? 1.0f : 0.0f;
    case NB_VBIN_RELU_GRAD: return y <= 0 ? 0.0f : a;   /* PyTorch: NaN y passes a */
    case NB_VBIN_TANH_GRAD: return (float)(x * (float)(1.0 - (float)(y * y)));
    case NB_VBIN_SIGMOID_GRAD: return (float)(x * (float)(y * (float)(1.0 - y)));
    case NB_VBIN_COUNT: break;
    }
    return NAN;
}

static int same_bits(float x, float y) {
    if (isnan(x) || isnan(y)) return isnan(x) && isnan(y);
    return memcmp(&x, &y, sizeof x) == 0;
}

static const float specials[] = {0.0f, -0.0f, 1.0f, -1.0f, NAN, -NAN, INFINITY, -INFINITY,
                                 1e-40f, -1e-40f, FLT_MIN, FLT_TRUE_MIN, FLT_MAX, -FLT_MAX, 3.0f, 0.5f};
#define N_SPECIALS (sizeof specials / sizeof specials[0])

/* Uniform in [-2, 2]; with `special`, a quarter of the elements from the list. */
static void fill(float *p, size_t n, int special) {
    nbt_fill_uniform(p, (int64_t)n, -2.0f, 2.0f);
    if (special)
        for (size_t i = 0; i < n; i++)
            if (nbt_range(0, 3) == 0) p[i] = specials[nbt_range(0, N_SPECIALS - 1)];
}

typedef struct {
    size_t n;
    int off;           /* pointers offset by this many floats */
    int guard_before;  /* guard page before the data instead of after */
    int inplace;       /* 0: y separate; 1: y == a; 2: y == b (vector-vector only) */
    int special;
    float c;
} shape;

static void run_kernel(const entry *e, int twin, size_t n, const float *a, const float *b, float c,
                       float *y) {
    if (e->layout == LAYOUT_VV) (twin ? e->twin_vv : e->vv)(n, a, b, y);
    else (twin ? e->twin_vc : e->vc)(n, a, c, y);
}

/* One call of the micro-kernel on guarded buffers, checked element by element. */
static void check_case(const entry *e, const shape *s) {
    const size_t bytes = (s->n + (size_t)s->off) * sizeof(float);
    float *ab = nbt_alloc_guarded(bytes, s->guard_before), *bb = nbt_alloc_guarded(bytes, s->guard_before);
    float *yb = nbt_alloc_guarded(bytes, s->guard_before);
    float *want = malloc((s->n ? s->n : 1) * sizeof(float));
    assert_non_null(ab); assert_non_null(bb); assert_non_null(yb); assert_non_null(want);
    float *a = ab + s->off, *b = bb + s->off, *y = yb + s->off;
    fill(a, s->n, s->special);
    fill(b, s->n, s->special);
    const int scalar = e->isa == NB_ISA_REF;
    for (size_t i = 0; i < s->n; i++) {
        const float x = e->layout == LAYOUT_RC ? s->c : a[i];
        const float z = e->layout == LAYOUT_VV ? b[i] : e->layout == LAYOUT_VC ? s->c : a[i];
        want[i] = scalar ? oracle(e->op, x, z) : 0.0f;
    }
    if (!scalar) run_kernel(e, 1, s->n, a, b, s->c, want);
    const float *ka = a, *kb = b;
    if (s->inplace == 1) { memcpy(y, a, s->n * sizeof(float)); ka = y; }
    if (s->inplace == 2) { memcpy(y, b, s->n * sizeof(float)); kb = y; }
    if (s->off) yb[0] = 42.0f;   /* canary before y */
    run_kernel(e, 0, s->n, ka, kb, s->c, y);
    for (size_t i = 0; i < s->n; i++)
        if (!same_bits(y[i], want[i])) {
            print_error("v%s__%s layout %d: n=%zu off=%d inplace=%d c=%a: y[%zu] = %a, want %a "
                        "(a = %a, b = %a)\n", e->op_name, e->tag, e->layout, s->n, s->off, s->inplace,
                        (double)s->c, i, (double)y[i], (double)want[i], (double)a[i], (double)b[i]);
            fail();
        }
    if (s->off) assert_true(yb[0] == 42.0f);
    free(want);
    nbt_free_guarded(ab); nbt_free_guarded(bb); nbt_free_guarded(yb);
}

static const size_t big_sizes[] = {37, 61, 101, 127, 257, 1009, 4099, 100003};

static void every_size_alignment_value_and_aliasing(void **state) {
    const entry *e = *state;
    if (!nb_isa_supported(e->isa)) { skip(); return; }
    int k = 0, cases = 0;
    const int max_inplace = e->layout == LAYOUT_VV ? 2 : 1;
    for (size_t i = 0; i < 34 + sizeof big_sizes / sizeof big_sizes[0]; i++) {
        const size_t n = i < 34 ? i : big_sizes[i - 34];
        for (int off = 0; off <= 1; off++)
            for (int inplace = 0; inplace <= max_inplace; inplace++)
                for (int special = 0; special <= 1; special++, k++) {
                    /* c: every special in turn, or a random value */
                    const float c = k % 3 == 0 ? nbt_uniform(-2.0f, 2.0f) : specials[k % N_SPECIALS];
                    const shape s = {n, off, (k >> 1) & 1, inplace, special, c};
                    check_case(e, &s);
                    cases++;
                }
    }
    assert_true(cases > 0);
}

/* Each configuration holds exactly the registry's micro-kernels of its ISA
   (the plain-C ones for NB_ISA_REF), so the tests above test what runs. */
static void configurations_hold_the_registry_kernels(void **state) {
    (void)state;
    int checked = 0;
    for (size_t i = 0; i < N_ENTRIES; i++) {
        const entry *e = &registry[i];
        const nb_ukernel_config *cfg = nb_ukernels_for(e->isa);
        if (!cfg) continue;
        const nb_f32_vbinary_ukernels *k = &cfg->vbinary[e->op];
        if (e->layout == LAYOUT_VV) assert_true(k->vv == e->vv);
        if (e->layout == LAYOUT_VC) assert_true(k->vc == e->vc);
        if (e->layout == LAYOUT_RC) assert_true(k->rc == e->vc);
        checked++;
    }
    assert_true(checked >= 3 * NB_VBIN_COUNT);
    assert_true(nb_ukernels_active() == nb_ukernels_for(nb_isa_active()));
}

int main(void) {
    static struct CMUnitTest tests[N_ENTRIES + 1];
    static char names[N_ENTRIES][64];
    static const char *const layout_names[] = {"v%s_ukernel__%s", "v%sc_ukernel__%s", "vr%sc_ukernel__%s"};
    for (size_t i = 0; i < N_ENTRIES; i++) {
        char fmt[64];
        snprintf(fmt, sizeof fmt, "nb_f32_%s", layout_names[registry[i].layout]);
        snprintf(names[i], sizeof names[i], fmt, registry[i].op_name, registry[i].tag);
        tests[i] = (struct CMUnitTest){names[i], every_size_alignment_value_and_aliasing, NULL, NULL,
                                       (void *)&registry[i]};
    }
    tests[N_ENTRIES] = (struct CMUnitTest)cmocka_unit_test(configurations_hold_the_registry_kernels);
    return nbt_run_impl(__FILE__, tests, N_ENTRIES + 1);
}
