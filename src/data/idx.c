/* IDX files to tensors: big-endian element decoding, and
 * the image/label loaders of MNIST-style data sets. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/idx_internal.h"
#include <nabla/data.h>

static uint64_t load_be(const uint8_t *p, size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v = v << 8 | p[i];
    return v;
}

/* Element i of the file's data as a double (every IDX type fits exactly). */
static double idx_elem(const nb_idx_header *h, const uint8_t *data, int64_t i) {
    const uint8_t *p = data + (size_t)i * h->elem_size;
    switch (h->code) {
    case 0x08: return p[0];
    case 0x09: return (int8_t)p[0];
    case 0x0B: return (int16_t)(uint16_t)load_be(p, 2);
    case 0x0C: return (int32_t)(uint32_t)load_be(p, 4);
    case 0x0D: { uint32_t u = (uint32_t)load_be(p, 4); float f; memcpy(&f, &u, 4); return f; }
    default:   { uint64_t u = load_be(p, 8); double d; memcpy(&d, &u, 8); return d; }
    }
}

static nb_tensor *idx_to_tensor(const nb_idx_header *h, const uint8_t *data, nb_dtype dtype, const char *fn) {
    if (dtype != NB_FLOAT32 && dtype != NB_FLOAT64 && dtype != NB_INT64) {
        nb_error(NB_ERR_DTYPE, fn, "dtype %d is not float32, float64 or int64", (int)dtype);
        return NULL;
    }
    if (dtype == NB_INT64 && (h->code == 0x0D || h->code == 0x0E)) {
        nb_error(NB_ERR_DTYPE, fn, "an IDX file of %s elements cannot load as int64", nb_idx_type_name(h->code));
        return NULL;
    }
    nb_tensor *t = nb_empty(h->ndim, h->shape, dtype);
    if (!t) { nb_error_context(fn); return NULL; }
    void *dst = nb_tensor_data(t);
    for (int64_t i = 0; i < h->numel; i++) {
        double v = idx_elem(h, data, i);
        if (dtype == NB_FLOAT32) ((float *)dst)[i] = (float)v;
        else if (dtype == NB_FLOAT64) ((double *)dst)[i] = v;
        else ((int64_t *)dst)[i] = (int64_t)v;
    }
    return t;
}

nb_tensor *nb_idx_parse(const void *bytes, size_t len, nb_dtype dtype) {
    const char *fn = "nb_idx_parse";
    if (!bytes) { nb_error(NB_ERR_ARG, fn, "bytes is NULL"); return NULL; }
    nb_idx_header h;
    if (nb_idx_parse_header(bytes, len, &h, fn)) return NULL;
    size_t have = len - h.header_bytes;
    if (have != h.data_bytes) {
        nb_error(NB_ERR_ARG, fn, "%s: the header promises %zu data bytes (%lld %s elements), there are %zu",
                 have < h.data_bytes ? "truncated" : "too long", h.data_bytes, (long long)h.numel,
                 nb_idx_type_name(h.code), have);
        return NULL;
    }
    return idx_to_tensor(&h, (const uint8_t *)bytes + h.header_bytes, dtype, fn);
}

nb_tensor *nb_idx_load(const char *path, nb_dtype dtype) {
    const char *fn = "nb_idx_load";
    nb_idx_header h;
    uint8_t *data;
    if (nb_idx_read_file(path, &h, &data, fn)) return NULL;
    nb_tensor *t = idx_to_tensor(&h, data, dtype, fn);
    free(data);
    return t;
}

/* Reads a uint8 file of ndim dimensions (the images' and labels' format). */
static uint8_t *read_u8(const char *path, int ndim, nb_idx_header *h, const char *fn) {
    uint8_t *data;
    if (nb_idx_read_file(path, h, &data, fn)) return NULL;
    if (h->code != 0x08 || h->ndim != ndim) {
        nb_error(NB_ERR_ARG, fn, "'%s' holds %d-D %s data; expected %d-D uint8", path, h->ndim,
                 nb_idx_type_name(h->code), ndim);
        free(data);
        return NULL;
    }
    return data;
}

nb_tensor *nb_idx_load_images(const char *path, double mean, double std) {
    const char *fn = "nb_idx_load_images";
    if (!isfinite(mean) || !isfinite(std) || !(std > 0)) {
        nb_error(NB_ERR_ARG, fn, "mean (%g) must be finite and std (%g) finite and > 0", mean, std);
        return NULL;
    }
    nb_idx_header h;
    uint8_t *data = read_u8(path, 3, &h, fn);
    if (!data) return NULL;
    /* float32 arithmetic in this order, as torch's (x.float() / 255 - mean) /
       std: the PyTorch twin of examples/fashion_mnist.c gets the same bits. */
    float lut[256];
    const float m = (float)mean, s = (float)std;
    for (int v = 0; v < 256; v++) {
        float u = (float)v / 255.0f;
        lut[v] = (u - m) / s;
    }
    const int64_t shape[4] = {h.shape[0], 1, h.shape[1], h.shape[2]};
    nb_tensor *t = nb_empty(4, shape, NB_FLOAT32);
    if (t) {
        float *dst = nb_tensor_data(t);
        for (int64_t i = 0; i < h.numel; i++) dst[i] = lut[data[i]];
    } else {
        nb_error_context(fn);
    }
    free(data);
    return t;
}

nb_tensor *nb_idx_load_labels(const char *path) {
    const char *fn = "nb_idx_load_labels";
    nb_idx_header h;
    uint8_t *data = read_u8(path, 1, &h, fn);
    if (!data) return NULL;
    nb_tensor *t = idx_to_tensor(&h, data, NB_INT64, fn);
    free(data);
    return t;
}
