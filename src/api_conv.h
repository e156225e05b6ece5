/* The validation of the public convolution entry points (src/api_conv.c),
 * shared with the prepacked-weights entry points (src/api_conv_packed.c) so
 * that both check the same things in the same order with the same
 * messages. Private. */
#ifndef NB_API_CONV_H
#define NB_API_CONV_H

#include <stddef.h>
#include <stdint.h>

#include <nabla/kernels.h>

struct nb_kernels;

/* Output size and element counts of one validated desc. */
typedef struct {
    int64_t P, Q;
    int64_t nx, nw, ny;   /* elements of x (and dx), w (and dw), y (and dy) */
} nb_conv_counts;

/* One tensor argument: what it is called, where it is, how big it is. */
typedef struct {
    const char *name;
    const void *p;
    int64_t numel;
    int is_output;
    int may_be_null;      /* bias, dbias: optional */
} nb_conv_tensor_arg;

/* The desc (NULL: NB_ERR_ARG; a field out of range or an empty output:
   NB_ERR_SHAPE; a count overflowing int64: NB_ERR_OVERFLOW), messages
   naming fn. */
nb_status nb_conv_api_validate(const char *fn, const nb_conv2d_desc *d, size_t elem,
                               nb_conv_counts *g);
/* NULL tensors with elements (NB_ERR_ARG), outputs overlapping another
   tensor (NB_ERR_ALIAS). */
nb_status nb_conv_api_check_tensors(const char *fn, const nb_conv_tensor_arg *t, int count,
                                    size_t elem);
/* The table that runs a validated call (the reference for empty tensors). */
const struct nb_kernels *nb_conv_api_table(const nb_conv2d_desc *d);
/* A backend's failure turned into a message naming fn. */
nb_status nb_conv_api_status(const char *fn, nb_status s);

#endif
