/* The IDX header: magic, element type, ndim and sizes, validated before a
 * byte of data is read or allocated. */
#include "data/idx_internal.h"

static size_t idx_elem_size(int code) {
    switch (code) {
    case 0x08: case 0x09: return 1;
    case 0x0B: return 2;
    case 0x0C: case 0x0D: return 4;
    case 0x0E: return 8;
    default: return 0;
    }
}

const char *nb_idx_type_name(int code) {
    switch (code) {
    case 0x08: return "uint8";
    case 0x09: return "int8";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return "?";
    }
}

nb_status nb_idx_parse_header(const uint8_t *b, size_t len, nb_idx_header *h, const char *fn) {
    if (len < 4) return nb_error(NB_ERR_ARG, fn, "%zu bytes are shorter than an IDX header (4 bytes)", len);
    if (b[0] != 0 || b[1] != 0)
        return nb_error(NB_ERR_ARG, fn, "not an IDX file: magic starts %02x %02x, expected 00 00 (a gzip file "
                        "needs nb_idx_load)", b[0], b[1]);
    h->code = b[2];
    h->elem_size = idx_elem_size(b[2]);
    if (!h->elem_size) return nb_error(NB_ERR_ARG, fn, "unknown IDX element type 0x%02x", b[2]);
    h->ndim = b[3];
    if (h->ndim < 1 || h->ndim > NB_MAX_DIMS)
        return nb_error(NB_ERR_ARG, fn, "IDX ndim %d is outside 1..%d", h->ndim, NB_MAX_DIMS);
    h->header_bytes = 4 + 4 * (size_t)h->ndim;
    if (len < h->header_bytes)
        return nb_error(NB_ERR_ARG, fn, "truncated inside the header: %d sizes announced, %zu bytes", h->ndim, len);
    int64_t numel = 1, bytes;
    for (int d = 0; d < h->ndim; d++) {
        const uint8_t *p = b + 4 + 4 * d;
        h->shape[d] = (int64_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
        if (!nb_mul_ok(numel, h->shape[d], &numel))
            return nb_error(NB_ERR_OVERFLOW, fn, "the header's sizes overflow int64 (dim %d = %lld)", d,
                            (long long)h->shape[d]);
    }
    if (!nb_mul_ok(numel, (int64_t)h->elem_size, &bytes) || (uint64_t)bytes > SIZE_MAX / 2)
        return nb_error(NB_ERR_OVERFLOW, fn, "the header's sizes overflow: %lld elements of %zu bytes",
                        (long long)numel, h->elem_size);
    h->numel = numel;
    h->data_bytes = (size_t)bytes;
    return NB_OK;
}
