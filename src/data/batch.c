/* Batches of rows with a seeded shuffle per epoch (DataLoader(shuffle=True)).
 *
 * Epoch e's permutation is a Fisher-Yates shuffle driven by splitmix64
 * seeded with (seed, e), so it depends on nothing else: a resumed run that
 * sets its epoch sees the batches an uninterrupted run would have. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include <nabla/data.h>

struct nb_batch_iter {
    nb_tensor *x, *y;
    int64_t rows, batch, nbatches, epoch, next;   /* next: the next batch's index in the epoch */
    size_t x_row_bytes, y_row_bytes;
    bool shuffle, drop_last;
    uint64_t seed;
    int64_t *order;
};

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, n) without modulo bias (rejects the top partial range). */
static uint64_t below(uint64_t *s, uint64_t n) {
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t r;
    do r = splitmix64(s); while (r >= limit);
    return r % n;
}

static void make_order(nb_batch_iter *it) {
    for (int64_t i = 0; i < it->rows; i++) it->order[i] = i;
    if (!it->shuffle) return;
    uint64_t s = it->seed;
    s = splitmix64(&s) ^ (uint64_t)it->epoch * 0xD1B54A32D192ED03ULL;
    for (int64_t i = it->rows - 1; i > 0; i--) {
        int64_t j = (int64_t)below(&s, (uint64_t)i + 1);
        int64_t t = it->order[i];
        it->order[i] = it->order[j];
        it->order[j] = t;
    }
}

static size_t row_bytes(const nb_tensor *t) {
    size_t b = nb_dtype_size(nb_tensor_dtype(t));
    for (int d = 1; d < nb_tensor_ndim(t); d++) b *= (size_t)nb_tensor_size(t, d);
    return b;
}

nb_batch_iter *nb_batch_iter_new(nb_tensor *x, nb_tensor *y, int64_t batch_size, bool shuffle, uint64_t seed,
                                 bool drop_last) {
    const char *fn = "nb_batch_iter_new";
    if (!x || !y) { nb_error(NB_ERR_ARG, fn, "%s is NULL", x ? "y" : "x"); return NULL; }
    if (batch_size < 1) { nb_error(NB_ERR_ARG, fn, "batch_size %lld < 1", (long long)batch_size); return NULL; }
    if (nb_tensor_ndim(x) < 1 || nb_tensor_ndim(y) < 1 || nb_tensor_size(x, 0) != nb_tensor_size(y, 0)) {
        nb_error(NB_ERR_SHAPE, fn, "x and y need the same first size (x has %d dims, y %d)", nb_tensor_ndim(x),
                 nb_tensor_ndim(y));
        return NULL;
    }
    if (!nb_tensor_is_contiguous(x) || !nb_tensor_is_contiguous(y)) {
        nb_error(NB_ERR_ARG, fn, "%s is not contiguous (use nb_contiguous)", nb_tensor_is_contiguous(x) ? "y" : "x");
        return NULL;
    }
    nb_batch_iter *it = calloc(1, sizeof *it);
    const int64_t rows = nb_tensor_size(x, 0);
    if (it) it->order = malloc(((size_t)rows + 1) * sizeof *it->order);
    if (!it || !it->order) {
        free(it);
        nb_error(NB_ERR_OOM, fn, "cannot allocate the order of %lld rows", (long long)rows);
        return NULL;
    }
    it->x = nb_tensor_retain(x);
    it->y = nb_tensor_retain(y);
    it->rows = rows;
    it->batch = batch_size;
    it->nbatches = drop_last ? rows / batch_size : (rows + batch_size - 1) / batch_size;
    it->x_row_bytes = row_bytes(x);
    it->y_row_bytes = row_bytes(y);
    it->shuffle = shuffle;
    it->drop_last = drop_last;
    it->seed = seed;
    make_order(it);
    return it;
}

/* The rows order[first .. first+n) of t gathered into a new [n, ...] tensor. */
static nb_tensor *gather(nb_tensor *t, size_t row_b, const int64_t *idx, int64_t n) {
    int64_t shape[NB_MAX_DIMS];
    const int ndim = nb_tensor_ndim(t);
    memcpy(shape, nb_tensor_shape(t), (size_t)ndim * sizeof *shape);
    shape[0] = n;
    nb_tensor *b = nb_empty(ndim, shape, nb_tensor_dtype(t));
    if (!b) return NULL;
    const char *src = nb_tensor_data(t);
    char *dst = nb_tensor_data(b);
    for (int64_t i = 0; i < n; i++) memcpy(dst + (size_t)i * row_b, src + (size_t)idx[i] * row_b, row_b);
    return b;
}

nb_status nb_batch_iter_next(nb_batch_iter *it, nb_tensor **xb, nb_tensor **yb) {
    const char *fn = "nb_batch_iter_next";
    if (xb) *xb = NULL;
    if (yb) *yb = NULL;
    if (!it || !xb || !yb) return nb_error(NB_ERR_ARG, fn, "%s is NULL", !it ? "it" : !xb ? "xb" : "yb");
    if (it->next == it->nbatches) {   /* end of the epoch: move to the next one */
        it->epoch++;
        it->next = 0;
        make_order(it);
        return NB_OK;
    }
    const int64_t first = it->next * it->batch;
    const int64_t n = it->rows - first < it->batch ? it->rows - first : it->batch;
    nb_tensor *bx = gather(it->x, it->x_row_bytes, it->order + first, n);
    nb_tensor *by = bx ? gather(it->y, it->y_row_bytes, it->order + first, n) : NULL;
    if (!by) {
        nb_tensor_release(bx);
        return nb_error_context(fn);
    }
    it->next++;
    *xb = bx;
    *yb = by;
    return NB_OK;
}

nb_status nb_batch_iter_set_epoch(nb_batch_iter *it, int64_t epoch) {
    if (!it) return nb_error(NB_ERR_ARG, "nb_batch_iter_set_epoch", "it is NULL");
    if (epoch < 0) return nb_error(NB_ERR_ARG, "nb_batch_iter_set_epoch", "epoch %lld < 0", (long long)epoch);
    it->epoch = epoch;
    it->next = 0;
    make_order(it);
    return NB_OK;
}

int64_t nb_batch_iter_epoch(const nb_batch_iter *it) {
    if (!it) { nb_error(NB_ERR_ARG, "nb_batch_iter_epoch", "it is NULL"); return -1; }
    return it->epoch;
}

int64_t nb_batch_iter_num_batches(const nb_batch_iter *it) {
    if (!it) { nb_error(NB_ERR_ARG, "nb_batch_iter_num_batches", "it is NULL"); return -1; }
    return it->nbatches;
}

const int64_t *nb_batch_iter_order(const nb_batch_iter *it) {
    if (!it) { nb_error(NB_ERR_ARG, "nb_batch_iter_order", "it is NULL"); return NULL; }
    return it->order;
}

int64_t nb_batch_iter_num_rows(const nb_batch_iter *it) {
    if (!it) { nb_error(NB_ERR_ARG, "nb_batch_iter_num_rows", "it is NULL"); return -1; }
    return it->rows;
}

void nb_batch_iter_free(nb_batch_iter *it) {
    if (!it) return;
    nb_tensor_release(it->x);
    nb_tensor_release(it->y);
    free(it->order);
    free(it);
}
