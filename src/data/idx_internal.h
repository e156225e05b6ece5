/* IDX files: the parsed header, shared by the reader and the converters. */
#ifndef NB_IDX_INTERNAL_H
#define NB_IDX_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

typedef struct {
    int code;                       /* the dtype byte: 0x08 ... 0x0E */
    size_t elem_size;               /* bytes per element in the file */
    int ndim;                       /* 1 ... NB_MAX_DIMS */
    int64_t shape[NB_MAX_DIMS];
    int64_t numel;
    size_t header_bytes;            /* 4 + 4 * ndim */
    size_t data_bytes;              /* numel * elem_size, checked for overflow */
} nb_idx_header;

/* Parses and validates the header at the start of bytes[0..len): magic,
   dtype, ndim, sizes and their product. Does not look at the data. */
nb_status nb_idx_parse_header(const uint8_t *bytes, size_t len, nb_idx_header *h, const char *fn);
/* "uint8", "int16", ... for an element type byte. */
const char *nb_idx_type_name(int code);
/* Opens path (gzip or plain), parses its header and reads exactly
   h->data_bytes of data into a new malloc'ed *data (errors: nothing
   allocated, *data NULL). */
nb_status nb_idx_read_file(const char *path, nb_idx_header *h, uint8_t **data, const char *fn);

#endif
