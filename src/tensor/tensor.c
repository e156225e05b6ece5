/* Tensor objects and storages: creation, lifetime, properties, element access. */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor_internal.h"
#include "autograd/autograd_internal.h"
#include "bufcache.h"


const char *nb_dtype_name(nb_dtype d) {
    switch (d) {
    case NB_FLOAT32: return "float32";
    case NB_FLOAT64: return "float64";
    case NB_INT64:   return "int64";
    }
    return "invalid dtype";
}

size_t nb_dtype_size(nb_dtype d) {
    /* A query (0 answers "not a dtype"), so no error is set: callers test
       nb_dtype_size(nb_tensor_dtype(t)) after nb_tensor_dtype's error. */
    return (d == NB_FLOAT32 || d == NB_FLOAT64 || d == NB_INT64) ? nb_esize(d) : 0;
}

nb_status nb__check_dtype(const char *fn, nb_dtype d) {
    if (nb_dtype_size(d) == 0) return nb_error(NB_ERR_DTYPE, fn, "dtype %d is not a valid nb_dtype", (int)d);
    return NB_OK;
}

const char *nb__shape_str(char *buf, size_t n, int ndim, const int64_t *shape) {
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, i ? ", %lld" : "%lld", (long long)shape[i]);
    if (k < n) snprintf(buf + k, n - k, "]");
    return buf;
}

int nb__dim(const char *fn, int dim, int ndim) {
    int lo = ndim > 0 ? -ndim : -1, hi = ndim > 0 ? ndim - 1 : 0;
    if (dim < lo || dim > hi) {
        nb_error(NB_ERR_ARG, fn, "dim %d is out of range for a tensor of %d dims (expected [%d, %d])",
                 dim, ndim, lo, hi);
        return -1;
    }
    return dim < 0 ? dim + (ndim > 0 ? ndim : 1) : dim;
}

void nb__contiguous_strides(int ndim, const int64_t *shape, int64_t *strides) {
    int64_t s = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        strides[i] = s;
        s *= shape[i] > 1 ? shape[i] : 1;
    }
}

static nb_status check_shape(const char *fn, int ndim, const int64_t *shape, int64_t *numel) {
    if (ndim < 0 || ndim > NB_MAX_DIMS)
        return nb_error(NB_ERR_ARG, fn, "ndim = %d is outside [0, %d]", ndim, NB_MAX_DIMS);
    if (ndim > 0 && shape == NULL) return nb_error(NB_ERR_ARG, fn, "shape is NULL");
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0)
            return nb_error(NB_ERR_ARG, fn, "shape[%d] = %lld is negative", i, (long long)shape[i]);
    if (!nb_numel_ok(ndim, shape, numel) || !nb_mul_ok(*numel, 8, &(int64_t){0}))
        return nb_error(NB_ERR_OVERFLOW, fn, "the number of elements overflows int64");
    return NB_OK;
}

nb_status nb__check_numel(const char *fn, int ndim, const int64_t *shape, nb_dtype dtype) {
    int64_t numel, bytes;
    char b[160];
    if (!nb_numel_ok(ndim, shape, &numel))
        return nb_error(NB_ERR_OVERFLOW, fn, "the element count of shape %s overflows int64",
                        nb__shape_str(b, sizeof b, ndim, shape));
    if (!nb_mul_ok(numel, (int64_t)nb_esize(dtype), &bytes))
        return nb_error(NB_ERR_OVERFLOW, fn, "the size in bytes of shape %s (%lld elements of %s) overflows int64",
                        nb__shape_str(b, sizeof b, ndim, shape), (long long)numel, nb_dtype_name(dtype));
    return NB_OK;
}

_Static_assert(sizeof(nb_storage) <= NB_STORAGE_HDR, "the storage header must fit before the data");

/* Tensor objects and owned storages come from the caching allocator
   (bufcache.h): an op's output costs two free-list pops, not a calloc, a
   malloc and a memalign. Every field is set here: no zero-fill. */
/* A reference count's last drop: true when the caller held the last
   reference. A count of 1 seen by its holder cannot rise (no other thread
   has a reference to retain it through), so the common case of an object
   that was never shared skips the locked read-modify-write (about 20
   cycles each, and a tensor op makes and drops several). */
static inline bool last_ref(_Atomic int64_t *rc) {
    return atomic_load_explicit(rc, memory_order_acquire) == 1 ||
           atomic_fetch_sub_explicit(rc, 1, memory_order_acq_rel) == 1;
}

/* The tensor object takes a new reference to s; a storage that nothing
   references yet (fresh: refcount 0, not visible to any other thread) gets
   it with a plain store. */
static nb_tensor *tensor_object(nb_storage *s, bool fresh, nb_dtype dtype, int ndim, const int64_t *shape,
                                const int64_t *strides, int64_t offset) {
    int cls;
    nb_tensor *t = nb_cache_get(sizeof *t, &cls);
    if (!t) return NULL;
    atomic_store_explicit(&t->refcount, 1, memory_order_relaxed);   /* not shared yet */
    t->dtype = dtype;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) { t->shape[i] = shape[i]; t->strides[i] = strides[i]; }
    t->offset = offset;
    t->storage = s;
    t->requires_grad = false;
    t->is_grad_view = false;
    t->grad_fn = NULL;
    t->grad = NULL;
    t->cls = cls;
    if (fresh) atomic_store_explicit(&s->refcount, 1, memory_order_relaxed);
    else atomic_fetch_add_explicit(&s->refcount, 1, memory_order_relaxed);
    nb__live_add(1);
    return t;
}

static void storage_release(nb_storage *s) {
    if (!last_ref(&s->refcount)) return;
    if (s->owned) {
        nb_cache_put(s, s->cls);
        return;
    }
    if (s->free_fn) s->free_fn(s->data, s->user);
    free(s);
}

nb_tensor *nb__empty(const char *fn, int ndim, const int64_t *shape, nb_dtype dtype) {
    int64_t numel, strides[NB_MAX_DIMS];
    if (nb__check_dtype(fn, dtype) || check_shape(fn, ndim, shape, &numel)) return NULL;
    const size_t nbytes = (size_t)numel * nb_esize(dtype);
    int cls;
    /* An empty tensor still gets 64 data bytes (a valid, aligned pointer). */
    nb_storage *s = nb_cache_get(NB_STORAGE_HDR + (nbytes ? nbytes : 64), &cls);
    if (!s) {
        nb_error(NB_ERR_OOM, fn, "cannot allocate %lld elements", (long long)numel);
        return NULL;
    }
    *s = (nb_storage){.refcount = 0, .data = (char *)s + NB_STORAGE_HDR, .nbytes = nbytes, .owned = true,
                      .cls = cls};
    nb__contiguous_strides(ndim, shape, strides);
    nb_tensor *t = tensor_object(s, true, dtype, ndim, shape, strides, 0);
    if (!t) {
        s->refcount = 1;
        storage_release(s);
        nb_error(NB_ERR_OOM, fn, "cannot allocate a tensor");
        return NULL;
    }
    return t;
}

nb_tensor *nb__alias(const nb_tensor *t, int ndim, const int64_t *shape, const int64_t *strides,
                     int64_t offset) {
    nb_tensor *v = tensor_object(t->storage, false, t->dtype, ndim, shape, strides, offset);
    if (!v) nb_error(NB_ERR_OOM, "nb_tensor", "cannot allocate a view");
    return v;
}

nb_tensor *nb_tensor_retain(nb_tensor *t) {
    if (!t) nb_error(NB_ERR_ARG, "nb_tensor_retain", "t is NULL");
    else atomic_fetch_add_explicit(&t->refcount, 1, memory_order_relaxed);
    return t;
}

void nb_tensor_release(nb_tensor *t) {
    if (!t || !last_ref(&t->refcount)) return;
    nb_node *fn = t->grad_fn;
    nb_tensor *g = t->grad;
    storage_release(t->storage);
    nb_cache_put(t, t->cls);
    nb__live_add(-1);
    nb_tensor_release(g);
    if (fn) nb__node_release(fn);
}

/* ---- creation ---- */

nb_tensor *nb_empty(int ndim, const int64_t *shape, nb_dtype dtype) {
    return nb__empty("nb_empty", ndim, shape, dtype);
}

static void fill_contiguous(nb_tensor *t, double v) {
    int64_t n = nb_tensor_numel(t);
    char *p = nb_ptr(t);
    switch (t->dtype) {
    case NB_FLOAT32: for (int64_t i = 0; i < n; i++) ((float *)p)[i] = (float)v; break;
    case NB_FLOAT64: for (int64_t i = 0; i < n; i++) ((double *)p)[i] = v; break;
    case NB_INT64:   for (int64_t i = 0; i < n; i++) ((int64_t *)p)[i] = (int64_t)v; break;
    }
}

static nb_tensor *full(const char *fn, int ndim, const int64_t *shape, nb_dtype dtype, double v) {
    nb_tensor *t = nb__empty(fn, ndim, shape, dtype);
    if (t) fill_contiguous(t, v);
    return t;
}

nb_tensor *nb_zeros(int ndim, const int64_t *shape, nb_dtype dtype) { return full("nb_zeros", ndim, shape, dtype, 0); }
nb_tensor *nb_ones(int ndim, const int64_t *shape, nb_dtype dtype) { return full("nb_ones", ndim, shape, dtype, 1); }
nb_tensor *nb_full(int ndim, const int64_t *shape, nb_dtype dtype, double value) {
    return full("nb_full", ndim, shape, dtype, value);
}
nb_tensor *nb_scalar(double value, nb_dtype dtype) { return full("nb_scalar", 0, NULL, dtype, value); }
nb_tensor *nb_zeros_like(const nb_tensor *t) {
    if (!t) { nb_error(NB_ERR_ARG, "nb_zeros_like", "t is NULL"); return NULL; }
    return full("nb_zeros_like", t->ndim, t->shape, t->dtype, 0);
}
nb_tensor *nb_ones_like(const nb_tensor *t) {
    if (!t) { nb_error(NB_ERR_ARG, "nb_ones_like", "t is NULL"); return NULL; }
    return full("nb_ones_like", t->ndim, t->shape, t->dtype, 1);
}

nb_tensor *nb_tensor_new(const void *data, nb_dtype dtype, int ndim, const int64_t *shape) {
    nb_tensor *t = nb__empty("nb_tensor_new", ndim, shape, dtype);
    if (!t) return NULL;
    size_t bytes = (size_t)nb_tensor_numel(t) * nb_esize(dtype);
    if (bytes && !data) {
        nb_tensor_release(t);
        nb_error(NB_ERR_ARG, "nb_tensor_new", "data is NULL for %zu bytes", bytes);
        return NULL;
    }
    if (bytes) memcpy(t->storage->data, data, bytes);
    return t;
}

nb_tensor *nb_tensor_wrap(void *data, nb_dtype dtype, int ndim, const int64_t *shape,
                          const int64_t *strides, nb_free_fn free_fn, void *user) {
    const char *fn = "nb_tensor_wrap";
    int64_t numel, st[NB_MAX_DIMS], lo = 0, hi = 0;
    if (nb__check_dtype(fn, dtype) || check_shape(fn, ndim, shape, &numel)) return NULL;
    if (strides) memcpy(st, strides, sizeof(int64_t) * (size_t)ndim);
    else nb__contiguous_strides(ndim, shape, st);
    if (numel > 0 && !data) { nb_error(NB_ERR_ARG, fn, "data is NULL"); return NULL; }
    if (numel > 0) {
        if (!nb_extent_ok(ndim, shape, st, nb_esize(dtype), &lo, &hi)) {
            nb_error(NB_ERR_OVERFLOW, fn, "strides overflow int64"); return NULL;
        }
        if (lo < 0) {
            nb_error(NB_ERR_ARG, fn, "negative strides would reach before data"); return NULL;
        }
    }
    nb_storage *s = calloc(1, sizeof *s);
    if (!s) { nb_error(NB_ERR_OOM, fn, "cannot allocate a storage"); return NULL; }
    s->data = data;
    s->nbytes = numel > 0 ? (size_t)(hi + 1) * nb_esize(dtype) : 0;
    s->free_fn = free_fn;
    s->user = user;
    nb_tensor *t = tensor_object(s, true, dtype, ndim, shape, st, 0);
    if (!t) { free(s); nb_error(NB_ERR_OOM, fn, "cannot allocate a tensor"); return NULL; }
    return t;
}

nb_tensor *nb_arange(double start, double end, double step, nb_dtype dtype) {
    const char *fn = "nb_arange";
    if (step == 0 || !isfinite(step) || !isfinite(start) || !isfinite(end)) {
        nb_error(NB_ERR_ARG, fn, "start, end and step must be finite and step nonzero"); return NULL;
    }
    double len = ceil((end - start) / step);
    if (len < 0) {
        nb_error(NB_ERR_ARG, fn, "step %g goes away from end (start %g, end %g)", step, start, end);
        return NULL;
    }
    if (len > 9.0e15) { nb_error(NB_ERR_OVERFLOW, fn, "too many elements"); return NULL; }
    int64_t n = (int64_t)len;
    nb_tensor *t = nb__empty(fn, 1, &n, dtype);
    if (!t) return NULL;
    char *p = nb_ptr(t);
    for (int64_t i = 0; i < n; i++) {
        double v = start + (double)i * step;
        if (dtype == NB_FLOAT32) ((float *)p)[i] = (float)v;
        else if (dtype == NB_FLOAT64) ((double *)p)[i] = v;
        else ((int64_t *)p)[i] = (int64_t)v;
    }
    return t;
}

/* ---- random numbers: xoshiro256**, seeded through splitmix64 ---- */

struct nb_generator { uint64_t s[4]; };

static uint64_t splitmix(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
static void seed_gen(nb_generator *g, uint64_t seed) {
    for (int i = 0; i < 4; i++) g->s[i] = splitmix(&seed);
}
static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
static uint64_t next_u64(nb_generator *g) {
    uint64_t *s = g->s, r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 45);
    return r;
}
static double next_unit(nb_generator *g) { return (double)(next_u64(g) >> 11) * 0x1.0p-53; }

static nb_generator default_gen = {{0x9E3779B97F4A7C15ULL, 0xBF58476D1CE4E5B9ULL,
                                    0x94D049BB133111EBULL, 0x2545F4914F6CDD1DULL}};

void nb_manual_seed(uint64_t seed) { seed_gen(&default_gen, seed); }

nb_generator *nb_generator_new(uint64_t seed) {
    nb_generator *g = malloc(sizeof *g);
    if (!g) { nb_error(NB_ERR_OOM, "nb_generator_new", "cannot allocate"); return NULL; }
    seed_gen(g, seed);
    return g;
}
void nb_generator_free(nb_generator *g) { free(g); }

static nb_tensor *random_tensor(const char *fn, int ndim, const int64_t *shape, nb_dtype dtype,
                                nb_generator *g, bool normal) {
    if (!nb__check_dtype(fn, dtype) && !nb_is_float(dtype)) {
        nb_error(NB_ERR_DTYPE, fn, "needs a floating dtype, got %s", nb_dtype_name(dtype));
        return NULL;
    }
    nb_tensor *t = nb__empty(fn, ndim, shape, dtype);
    if (!t) return NULL;
    if (!g) g = &default_gen;
    int64_t n = nb_tensor_numel(t);
    char *p = nb_ptr(t);
    for (int64_t i = 0; i < n; i++) {
        double v;
        if (normal) {   /* Box-Muller; 1 - u keeps log's argument in (0, 1] */
            double u1 = 1.0 - next_unit(g), u2 = next_unit(g);
            v = sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
        } else {
            v = next_unit(g);
        }
        if (dtype == NB_FLOAT32) {
            float f = (float)v;
            if (!normal && f >= 1.0f) f = 0x1.fffffep-1f;   /* rounding must not reach 1 */
            ((float *)p)[i] = f;
        } else {
            ((double *)p)[i] = v;
        }
    }
    return t;
}

nb_tensor *nb_rand(int ndim, const int64_t *shape, nb_dtype dtype, nb_generator *gen) {
    return random_tensor("nb_rand", ndim, shape, dtype, gen, false);
}
nb_tensor *nb_randn(int ndim, const int64_t *shape, nb_dtype dtype, nb_generator *gen) {
    return random_tensor("nb_randn", ndim, shape, dtype, gen, true);
}

/* Uniform in [0, range), range >= 1: rejection sampling below the largest
   multiple of range, so that no value is more likely than another (one
   draw almost always). */
static uint64_t uniform_below(nb_generator *g, uint64_t range) {
    const uint64_t limit = UINT64_MAX - UINT64_MAX % range;
    uint64_t u;
    do u = next_u64(g); while (u >= limit);
    return u % range;
}

/* torch.randint(low, high, shape): int64, uniform in [low, high). */
nb_tensor *nb_randint(int64_t low, int64_t high, int ndim, const int64_t *shape, nb_generator *gen) {
    static const char fn[] = "nb_randint";
    if (high <= low) {
        nb_error(NB_ERR_ARG, fn, "the range [%lld, %lld) is empty (needs low < high)", (long long)low, (long long)high);
        return NULL;
    }
    nb_tensor *t = nb__empty(fn, ndim, shape, NB_INT64);
    if (!t) return NULL;
    nb_generator *g = gen ? gen : &default_gen;
    const uint64_t range = (uint64_t)high - (uint64_t)low;   /* exact: high > low */
    int64_t *p = (int64_t *)nb_ptr(t);
    for (int64_t i = 0, n = nb_tensor_numel(t); i < n; i++) p[i] = (int64_t)((uint64_t)low + uniform_below(g, range));
    return t;
}

/* torch.randperm(n): a uniformly random permutation of 0..n-1 (int64),
   Fisher-Yates with unbiased draws. */
nb_tensor *nb_randperm(int64_t n, nb_generator *gen) {
    static const char fn[] = "nb_randperm";
    if (n < 0) { nb_error(NB_ERR_ARG, fn, "n = %lld is negative", (long long)n); return NULL; }
    nb_tensor *t = nb__empty(fn, 1, &n, NB_INT64);
    if (!t) return NULL;
    nb_generator *g = gen ? gen : &default_gen;
    int64_t *p = (int64_t *)nb_ptr(t);
    for (int64_t i = 0; i < n; i++) p[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        const int64_t j = (int64_t)uniform_below(g, (uint64_t)i + 1), tmp = p[i];
        p[i] = p[j];
        p[j] = tmp;
    }
    return t;
}

/* ---- properties ---- */

/* The accessors take NULL with an error value (documented in tensor.h)
   and a message naming them, like every other function. */
#define NULL_T(fn, t, bad) \
    do { if (!(t)) { nb_error(NB_ERR_ARG, fn, "t is NULL"); return bad; } } while (0)

nb_dtype nb_tensor_dtype(const nb_tensor *t) { NULL_T("nb_tensor_dtype", t, (nb_dtype)-1); return t->dtype; }
int nb_tensor_ndim(const nb_tensor *t) { NULL_T("nb_tensor_ndim", t, -1); return t->ndim; }
const int64_t *nb_tensor_shape(const nb_tensor *t) { NULL_T("nb_tensor_shape", t, NULL); return t->shape; }
const int64_t *nb_tensor_strides(const nb_tensor *t) { NULL_T("nb_tensor_strides", t, NULL); return t->strides; }
int64_t nb_tensor_offset(const nb_tensor *t) { NULL_T("nb_tensor_offset", t, -1); return t->offset; }
void *nb_tensor_data(const nb_tensor *t) { NULL_T("nb_tensor_data", t, NULL); return nb_ptr(t); }

int64_t nb_tensor_size(const nb_tensor *t, int dim) {
    NULL_T("nb_tensor_size", t, -1);
    int d = nb__dim("nb_tensor_size", dim, t->ndim);
    return d < 0 || t->ndim == 0 ? -1 : t->shape[d];
}
int64_t nb_tensor_stride(const nb_tensor *t, int dim) {
    NULL_T("nb_tensor_stride", t, -1);
    int d = nb__dim("nb_tensor_stride", dim, t->ndim);
    return d < 0 || t->ndim == 0 ? -1 : t->strides[d];
}
/* Never overflows: every function that makes a shape checks its count
   (nb__check_numel). */
int64_t nb_tensor_numel(const nb_tensor *t) {
    NULL_T("nb_tensor_numel", t, -1);
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

bool nb_tensor_is_contiguous(const nb_tensor *t) {
    NULL_T("nb_tensor_is_contiguous", t, false);
    int64_t expect = 1;
    if (nb_tensor_numel(t) == 0) return true;
    for (int i = t->ndim - 1; i >= 0; i--) {
        if (t->shape[i] == 1) continue;     /* the stride of a size-1 dim is never used */
        if (t->strides[i] != expect) return false;
        expect *= t->shape[i];
    }
    return true;
}

bool nb_tensor_shares_storage(const nb_tensor *a, const nb_tensor *b) {
    if (!a || !b) { nb_error(NB_ERR_ARG, "nb_tensor_shares_storage", "%s is NULL", a ? "b" : "a"); return false; }
    return (a->storage == b->storage ||
                      (a->storage->data == b->storage->data && a->storage->data != NULL));
}

/* ---- element access ---- */

static nb_status element_ptr(const char *fn, const nb_tensor *t, const int64_t *index, char **out) {
    if (!t) return nb_error(NB_ERR_ARG, fn, "t is NULL");
    if (t->ndim > 0 && !index) return nb_error(NB_ERR_ARG, fn, "index is NULL");
    int64_t off = 0;
    for (int i = 0; i < t->ndim; i++) {
        int64_t k = index[i] < 0 ? index[i] + t->shape[i] : index[i];
        if (k < 0 || k >= t->shape[i])
            return nb_error(NB_ERR_ARG, fn, "index %lld is out of range for dim %d of size %lld",
                            (long long)index[i], i, (long long)t->shape[i]);
        off += k * t->strides[i];
    }
    *out = nb_ptr(t) + off * (int64_t)nb_esize(t->dtype);
    return NB_OK;
}

static double load(nb_dtype d, const char *p) {
    switch (d) {
    case NB_FLOAT32: return *(const float *)p;
    case NB_FLOAT64: return *(const double *)p;
    case NB_INT64:   return (double)*(const int64_t *)p;
    }
    return NAN;
}

nb_status nb_tensor_get(const nb_tensor *t, const int64_t *index, double *out) {
    char *p;
    nb_status s = element_ptr("nb_tensor_get", t, index, &p);
    if (s) return s;
    if (!out) return nb_error(NB_ERR_ARG, "nb_tensor_get", "out is NULL");
    *out = load(t->dtype, p);
    return NB_OK;
}

nb_status nb_tensor_set(nb_tensor *t, const int64_t *index, double v) {
    char *p;
    nb_status s = element_ptr("nb_tensor_set", t, index, &p);
    if (s) return s;
    if ((s = nb__check_writable("nb_tensor_set", t))) return s;
    if (t->grad_fn && nb__grad_mode())   /* the graph would not see the new value */
        return nb_error(NB_ERR_UNSUPPORTED, "nb_tensor_set",
                        "t requires grad (produced by %s): set elements inside no-grad mode, on nb_detach(t), "
                        "or use nb_copy_()", t->grad_fn->name);
    switch (t->dtype) {
    case NB_FLOAT32: *(float *)p = (float)v; break;
    case NB_FLOAT64: *(double *)p = v; break;
    case NB_INT64:   *(int64_t *)p = (int64_t)v; break;
    }
    nb__bump_version(t);
    return NB_OK;
}

nb_status nb_tensor_item(const nb_tensor *t, double *out) {
    if (!t) return nb_error(NB_ERR_ARG, "nb_tensor_item", "t is NULL");
    if (nb_tensor_numel(t) != 1)
        return nb_error(NB_ERR_SHAPE, "nb_tensor_item", "a tensor with %lld elements cannot be converted to a scalar",
                        (long long)nb_tensor_numel(t));
    if (!out) return nb_error(NB_ERR_ARG, "nb_tensor_item", "out is NULL");
    *out = load(t->dtype, nb_ptr(t));
    return NB_OK;
}

nb_status nb_tensor_read(const nb_tensor *t, void *dst) {
    if (!t) return nb_error(NB_ERR_ARG, "nb_tensor_read", "t is NULL");
    if (nb_tensor_numel(t) == 0) return NB_OK;
    if (!dst) return nb_error(NB_ERR_ARG, "nb_tensor_read", "dst is NULL");
    int64_t st[NB_MAX_DIMS];
    nb__contiguous_strides(t->ndim, t->shape, st);
    if (t->ndim == 0) { memcpy(dst, nb_ptr(t), nb_esize(t->dtype)); return NB_OK; }
    return nb_copy_strided(nb_esize(t->dtype), t->ndim, t->shape, nb_ptr(t), t->strides, dst, st);
}

nb_status nb__check_writable(const char *fn, const nb_tensor *t) {
    for (int i = 0; i < t->ndim; i++)
        if (t->strides[i] == 0 && t->shape[i] > 1)
            return nb_error(NB_ERR_ALIAS, fn,
                            "more than one element of the written-to tensor refers to a single memory "
                            "location (dim %d has stride 0, e.g. from nb_expand); nb_clone() it first", i);
    if (t->requires_grad && t->grad_fn == NULL && nb__grad_mode())
        return nb_error(NB_ERR_STATE, fn,
                        "a leaf tensor that requires grad is used in an in-place operation; "
                        "do it inside nb_no_grad_enter()/nb_no_grad_exit()");
    return NB_OK;
}

void nb__bump_version(nb_tensor *t) { t->storage->version++; }

void nb_tensor_print(const nb_tensor *t, const char *name) {
    if (!t) { printf("%s: NULL\n", name ? name : "tensor"); return; }
    int64_t n = nb_tensor_numel(t), idx[NB_MAX_DIMS] = {0};
    char buf[128];
    printf("%s: tensor(shape=%s, [", name ? name : "tensor", nb__shape_str(buf, sizeof buf, t->ndim, t->shape));
    for (int64_t k = 0; k < n; k++) {
        double v;
        nb_tensor_get(t, idx, &v);
        printf(k ? ", %.6g" : "%.6g", v);
        for (int d = t->ndim - 1; d >= 0; d--) {
            if (++idx[d] < t->shape[d]) break;
            idx[d] = 0;
        }
    }
    printf("], dtype=%s%s)\n", nb_dtype_name(t->dtype), nb_requires_grad(t) ? ", requires_grad" : "");
}
