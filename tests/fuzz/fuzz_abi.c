/* libFuzzer target for the kernel ABI (include/nabla/kernels.h).
 *
 * The input's bytes choose an entry point (nb_sgemm, the three
 * convolutions, nb_sreduce, nb_copy_strided, nb_sunary, nb_ssoftmax) and
 * its arguments: small sizes, strides of both signs, 0 and extreme, leading
 * dimensions below the row length, transposes, bad enums, NULL pointers,
 * outputs overlapping inputs. Every buffer is exactly as large as the call
 * claims (AddressSanitizer reports any access outside it). Oracles:
 *   - ASan / UBSan (built with -fsanitize=fuzzer,address,undefined);
 *   - a refused call leaves every buffer byte-identical and names itself
 *     in nb_last_error();
 *   - an accepted call changes no input and no byte of its output buffer
 *     outside its output view; a copy's result equals its source as it
 *     was before the call (an overlap it accepted must not change that).
 * Build and run: see README ("Fuzzing"). */
#include "fuzz_common.h"

typedef struct {
    unsigned char *p;   /* the buffer (as allocated) */
    size_t bytes;
    unsigned char *was; /* its content before the call */
} snap;

static void snap_take(snap *s, void *p, size_t bytes) {
    s->p = p;
    s->bytes = bytes;
    s->was = malloc(bytes ? bytes : 1);
    if (!s->was) abort();
    memcpy(s->was, p, bytes);
}
static int snap_same(const snap *s) { return memcmp(s->p, s->was, s->bytes) == 0; }
static void snap_free(snap *s) { free(s->p); free(s->was); }

/* After the call: refused -> nothing changed, the message names fn;
   accepted -> the inputs (snaps[1..]) unchanged and the output snaps[0]
   changed only where mark (per element of `elem` bytes) is set. */
static void judge(const char *fn, nb_status st, snap *s, int ns, const unsigned char *mark, size_t elem) {
    if (st != NB_OK) {
        for (int i = 0; i < ns; i++)
            if (!snap_same(&s[i])) FZ_FAIL("%s refused (%s) but wrote buffer %d", fn, nb_last_error(), i);
        if (!strstr(nb_last_error(), fn)) FZ_FAIL("%s refused; the message does not name it: %s", fn, nb_last_error());
        return;
    }
    for (int i = 1; i < ns; i++)
        if (!snap_same(&s[i])) FZ_FAIL("%s wrote its input buffer %d", fn, i);
    if (!mark) return;
    for (size_t b = 0; b < s[0].bytes; b++)
        if (!mark[b / elem] && s[0].p[b] != s[0].was[b])
            FZ_FAIL("%s wrote byte %zu of its output buffer, outside the output view", fn, b);
}

/* A leading dimension for rows of `len`: mostly len plus 0..2, sometimes
   one or more below it (a call that must be refused), sometimes 0. */
static int64_t fz_ld(fz_in *r, int64_t len) {
    const unsigned v = fz_u8(r);
    if (v < 200) return len + v % 3;
    if (v < 240) return len - 1 - v % 2;
    return v % 2 ? 0 : -1;
}
/* Elements a row-major rows x len matrix with leading dimension ld spans. */
static int64_t fz_mat(int64_t rows, int64_t len, int64_t ld) {
    if (rows == 0 || len == 0) return 0;
    return (rows - 1) * (ld > len ? ld : len) + len;
}

static void fuzz_gemm(fz_in *r) {
    const unsigned f = fz_u8(r);
    const int ta = f & 1, tb = f >> 1 & 1;
    const int64_t M = fz_size(r), N = fz_size(r), K = fz_size(r);
    const int64_t lda = fz_ld(r, ta ? M : K), ldb = fz_ld(r, tb ? K : N), ldc = fz_ld(r, N);
    const float alpha = fz_float(r), beta = (f & 12) == 0 ? 0.0f : fz_float(r);
    const int64_t na = fz_mat(ta ? K : M, ta ? M : K, lda), nb = fz_mat(tb ? N : K, tb ? K : N, ldb);
    const int64_t nc = fz_mat(M, N, ldc);
    float *A = fz_floats(r, na, 0), *B = fz_floats(r, nb, 0), *C = fz_floats(r, nc, 0);
    const float *a = A, *b = B;
    float *c = C;
    if (f & 16) a = NULL;                      /* NULL where data may exist */
    if ((f & 224) == 32 && nc <= na) c = A;    /* C over A: NB_ERR_ALIAS */
    snap s[3];
    snap_take(&s[0], c == A ? (void *)A : (void *)C, (size_t)(c == A ? na : nc) * sizeof(float));
    snap_take(&s[1], B, (size_t)nb * sizeof(float));
    snap_take(&s[2], c == A ? (void *)C : (void *)A, (size_t)(c == A ? nc : na) * sizeof(float));
    unsigned char *mark = calloc((size_t)(c == A ? na : nc) + 1, 1);
    if (ldc > 0 || M <= 1) fz_mark(2, (int64_t[]){M, N}, (int64_t[]){ldc, 1}, 0, mark);
    const nb_status st = nb_sgemm(ta, tb, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc);
    judge("nb_sgemm", st, s, c == A ? 2 : 3, mark, sizeof(float));
    free(mark);
    snap_free(&s[0]); snap_free(&s[1]); snap_free(&s[2]);
}

static void fuzz_conv(fz_in *r, int dir) {
    const unsigned f = fz_u8(r);
    nb_conv2d_desc d;
    d.n = fz_u8(r) % 3;
    d.c = 1 + fz_u8(r) % 4;
    d.h = fz_size(r) % 12;
    d.w = fz_size(r) % 12;
    d.k = 1 + fz_u8(r) % 4;
    d.r = fz_u8(r) % 4;              /* 0: refused */
    d.s = 1 + fz_u8(r) % 3;
    d.stride_h = fz_u8(r) % 4;       /* 0: refused */
    d.stride_w = 1 + fz_u8(r) % 3;
    d.pad_h = (int64_t)(fz_u8(r) % 4) - 1;   /* -1: refused */
    d.pad_w = fz_u8(r) % 3;
    d.dilation_h = 1 + fz_u8(r) % 2;
    d.dilation_w = fz_u8(r) % 3;     /* 0: refused */
    d.groups = fz_u8(r) % 3;         /* 0, or not dividing c / k: refused */
    /* The output size by the textbook formula, independent of the library. */
    const int64_t g = d.groups > 0 ? d.groups : 1, cg = d.c / g;
    int64_t P = 0, Q = 0;
    const int valid_geom = d.r >= 1 && d.stride_h >= 1 && d.stride_w >= 1 && d.pad_h >= 0 &&
                           d.dilation_w >= 1;
    if (valid_geom) {
        const int64_t eh = d.dilation_h * (d.r - 1) + 1, ew = d.dilation_w * (d.s - 1) + 1;
        P = d.h + 2 * d.pad_h >= eh ? (d.h + 2 * d.pad_h - eh) / d.stride_h + 1 : 0;
        Q = d.w + 2 * d.pad_w >= ew ? (d.w + 2 * d.pad_w - ew) / d.stride_w + 1 : 0;
        int64_t p, q;
        if (nb_conv2d_out_shape(&d, &p, &q) == NB_OK && (p != P || q != Q))
            FZ_FAIL("nb_conv2d_out_shape gives %lld x %lld, the formula %lld x %lld", (long long)p, (long long)q,
                    (long long)P, (long long)Q);
    }
    const int64_t nx = d.n * d.c * d.h * d.w, nw = d.k * cg * (d.r > 0 ? d.r : 1) * d.s, ny = d.n * d.k * P * Q;
    float *x = fz_floats(r, nx, 0), *w = fz_floats(r, nw, 0), *y = fz_floats(r, ny, 0);
    float *bias = fz_floats(r, d.k, 0);
    snap s[4];
    nb_status st;
    const char *fn;
    const float *xin = f & 1 ? NULL : x;   /* NULL where data may exist */
    if (dir == 0) {
        fn = "nb_sconv2d_forward";
        snap_take(&s[0], y, (size_t)ny * 4); snap_take(&s[1], x, (size_t)nx * 4);
        snap_take(&s[2], w, (size_t)nw * 4); snap_take(&s[3], bias, (size_t)d.k * 4);
        st = nb_sconv2d_forward(&d, xin, w, f & 2 ? NULL : bias, y);
    } else if (dir == 1) {
        fn = "nb_sconv2d_backward_data";
        snap_take(&s[0], x, (size_t)nx * 4); snap_take(&s[1], y, (size_t)ny * 4);
        snap_take(&s[2], w, (size_t)nw * 4); snap_take(&s[3], bias, (size_t)d.k * 4);
        st = nb_sconv2d_backward_data(&d, f & 1 ? NULL : y, w, x);
    } else {
        fn = "nb_sconv2d_backward_filter";
        snap_take(&s[0], w, (size_t)nw * 4); snap_take(&s[1], x, (size_t)nx * 4);
        snap_take(&s[2], y, (size_t)ny * 4); snap_take(&s[3], bias, (size_t)d.k * 4);
        st = nb_sconv2d_backward_filter(&d, xin, y, w, f & 2 ? NULL : bias);
    }
    /* The outputs are dense (ASan guards their ends); dbias is an output too. */
    if (st == NB_OK && dir == 2) {
        for (int i = 1; i < 3; i++)
            if (!snap_same(&s[i])) FZ_FAIL("%s wrote its input buffer %d", fn, i);
    } else {
        judge(fn, st, s, 4, NULL, 1);
    }
    for (int i = 0; i < 4; i++) snap_free(&s[i]);
}

/* A strided view: shape and strides from the input; the buffer covers it
   exactly. Returns 0 when too large to allocate (the caller skips), -1
   when an offset overflows (the call must refuse; a 1-element buffer). */
typedef struct {
    int ndim;
    int64_t shape[NB_MAX_DIMS + 2], strides[NB_MAX_DIMS + 2];
    int64_t lo, n;   /* base = buffer - lo; n elements */
} fz_view;

static int fz_view_size(fz_view *v) {
    int64_t hi;
    const int e = v->ndim <= NB_MAX_DIMS ? fz_extent(v->ndim, v->shape, v->strides, &v->lo, &hi) : 0;
    if (e < 0) { v->lo = 0; v->n = 1; return -1; }
    if (e == 0) { v->lo = 0; v->n = 0; return 1; }
    int64_t span;
    if (__builtin_sub_overflow(hi, v->lo, &span)) { v->lo = 0; v->n = 1; return -1; }
    if (span >= FZ_MAX_ELEMS) return 0;
    v->n = span + 1;
    return 1;
}

static void fuzz_reduce(fz_in *r) {
    const unsigned f = fz_u8(r);
    fz_view x, y;
    x.ndim = y.ndim = f < 240 ? (int)(f % 5) : NB_MAX_DIMS + 1;
    const uint64_t mask = fz_u8(r) & (f & 32 ? 0xFFu : (1u << (x.ndim < 9 ? x.ndim : 8)) - 1);
    int64_t cs = 1;
    for (int i = x.ndim - 1; i >= 0; i--) {
        x.shape[i] = fz_size(r) % 9;
        x.strides[i] = fz_stride(r);
        y.shape[i] = mask >> i & 1 ? 1 : x.shape[i];
        y.strides[i] = f & 64 ? fz_stride(r) : cs;
        cs *= y.shape[i];
    }
    int ye = 1;
    if (x.ndim > NB_MAX_DIMS) { x.n = y.n = 1; x.lo = y.lo = 0; ye = -1; }
    else if (!fz_view_size(&x) || !(ye = fz_view_size(&y))) return;
    const nb_reduce_op op = (nb_reduce_op)(fz_u8(r) % 5);   /* 4: not an op */
    float *xb = fz_floats(r, x.n, 0), *yb = fz_floats(r, y.n, 0);
    snap s[2];
    snap_take(&s[0], yb, (size_t)y.n * 4);
    snap_take(&s[1], xb, (size_t)x.n * 4);
    unsigned char *mark = calloc((size_t)y.n + 1, 1);
    if (ye > 0 && y.n > 0) fz_mark(y.ndim, y.shape, y.strides, -y.lo, mark);
    const nb_status st = nb_sreduce(op, x.ndim, x.shape, f & 128 && x.n ? NULL : xb - x.lo, x.strides, mask,
                                    yb - y.lo, y.strides);
    judge("nb_sreduce", st, s, 2, mark, 4);
    free(mark);
    snap_free(&s[0]); snap_free(&s[1]);
}

static void fuzz_copy(fz_in *r) {
    static const size_t sizes[] = {4, 4, 1, 2, 8, 16, 3, 0};
    const unsigned f = fz_u8(r);
    const size_t es = sizes[f % 8];
    fz_view s, d;
    s.ndim = d.ndim = (f >> 3) % 5;
    int64_t cs = 1;
    for (int i = s.ndim - 1; i >= 0; i--) {
        s.shape[i] = d.shape[i] = fz_size(r) % 9;
        s.strides[i] = fz_stride(r);
        d.strides[i] = f & 128 ? fz_stride(r) : cs;
        cs *= d.shape[i];
    }
    int es_ = fz_view_size(&s), ed = fz_view_size(&d);
    if (!es_ || !ed) return;
    const int alias = (f & 64) && es_ > 0 && ed > 0 && s.n > 0 && d.n > 0;
    /* alias: one buffer holds both views (they may overlap) */
    const int64_t nbuf = alias ? (s.n > d.n ? s.n : d.n) : s.n;
    unsigned char *src = fz_bytes(r, (size_t)nbuf * es);
    for (int64_t i = 0; i < nbuf * (int64_t)es; i++) src[i] = (unsigned char)fz_u8(r);
    unsigned char *dst = alias ? src : fz_bytes(r, (size_t)d.n * es);
    snap sn[2];
    snap_take(&sn[0], dst, (size_t)(alias ? nbuf : d.n) * es);
    if (!alias) snap_take(&sn[1], src, (size_t)s.n * es);
    const int64_t nmark = alias ? nbuf : d.n;
    unsigned char *mark = calloc((size_t)nmark + 1, 1);
    if (ed > 0 && d.n > 0) fz_mark(d.ndim, d.shape, d.strides, -d.lo, mark);
    const nb_status st = nb_copy_strided(es, s.ndim, s.shape, src - s.lo * (int64_t)es, s.strides,
                                         dst - d.lo * (int64_t)es, d.strides);
    judge("nb_copy_strided", st, sn, alias ? 1 : 2, es ? mark : NULL, es ? es : 1);
    int injective = 1;
    for (int64_t i = 0; i < nmark; i++) injective &= mark[i] <= 1;
    if (st == NB_OK && injective && es > 0 && es_ > 0) {
        /* every element of dst is the source's element as it was */
        int64_t idx[NB_MAX_DIMS] = {0}, n = 1;
        for (int i = 0; i < s.ndim; i++) n *= s.shape[i];
        const unsigned char *was = sn[alias ? 0 : 1].was;
        for (int64_t e = 0; e < n; e++) {
            int64_t so = -s.lo, dof = -d.lo;
            for (int i = 0; i < s.ndim; i++) { so += idx[i] * s.strides[i]; dof += idx[i] * d.strides[i]; }
            if (memcmp(dst + dof * (int64_t)es, was + so * (int64_t)es, es) != 0)
                FZ_FAIL("nb_copy_strided accepted the call%s and element %lld differs from the source",
                        alias ? " (source and destination in one buffer)" : "", (long long)e);
            for (int i = s.ndim - 1; i >= 0 && ++idx[i] == s.shape[i]; i--) idx[i] = 0;
        }
    }
    free(mark);
    snap_free(&sn[0]);
    if (!alias) snap_free(&sn[1]);
}

static void fuzz_unary(fz_in *r) {
    const unsigned f = fz_u8(r);
    const nb_unary_op op = (nb_unary_op)(f % 7);   /* 6: not an op */
    const int64_t n = fz_size(r) * (1 + fz_u8(r) % 8);
    const int mode = f >> 3 & 3;   /* 0 separate, 1 in place, 2 y = x + 1 (overlap), 3 NULL x */
    float *x = fz_floats(r, n + (mode == 2), 0), *y = mode == 1 || mode == 2 ? x : fz_floats(r, n, 0);
    snap s[2];
    snap_take(&s[0], y, (size_t)(n + (mode == 2)) * 4);
    if (y != x) snap_take(&s[1], x, (size_t)n * 4);
    const nb_status st = nb_sunary(op, n, mode == 3 ? NULL : x, mode == 2 ? y + 1 : y);
    judge("nb_sunary", st, s, y != x ? 2 : 1, NULL, 1);
    snap_free(&s[0]);
    if (y != x) snap_free(&s[1]);
}

static void fuzz_softmax(fz_in *r) {
    const unsigned f = fz_u8(r);
    const int64_t rows = fz_size(r), cols = fz_size(r);
    const int64_t ldx = fz_ld(r, cols), inplace = f & 2;
    const int64_t ldy = inplace ? ldx : fz_ld(r, cols);
    const int64_t nx = fz_mat(rows, cols, ldx), ny = fz_mat(rows, cols, ldy);
    float *x = fz_floats(r, nx, 0), *y = inplace ? x : fz_floats(r, ny, 0);
    snap s[2];
    snap_take(&s[0], y, (size_t)(inplace ? nx : ny) * 4);
    if (!inplace) snap_take(&s[1], x, (size_t)nx * 4);
    unsigned char *mark = calloc((size_t)(inplace ? nx : ny) + 1, 1);
    if (ldy > 0 || rows <= 1) fz_mark(2, (int64_t[]){rows, cols}, (int64_t[]){ldy, 1}, 0, mark);
    const nb_status st = nb_ssoftmax((int)(f & 1) * (f & 4 ? 7 : 1), rows, cols, f & 8 ? NULL : x, ldx, y, ldy);
    judge("nb_ssoftmax", st, s, inplace ? 1 : 2, mark, 4);
    free(mark);
    snap_free(&s[0]);
    if (!inplace) snap_free(&s[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_in r = {data, size};
    const unsigned which = fz_u8(&r);
    nb_set_num_threads(1 + (int)(which >> 7));
    switch (which % 8) {
    case 0: fuzz_gemm(&r); break;
    case 1: fuzz_conv(&r, 0); break;
    case 2: fuzz_conv(&r, 1); break;
    case 3: fuzz_conv(&r, 2); break;
    case 4: fuzz_reduce(&r); break;
    case 5: fuzz_copy(&r); break;
    case 6: fuzz_unary(&r); break;
    default: fuzz_softmax(&r); break;
    }
    return 0;
}
