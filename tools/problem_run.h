/* Buffers and one call of a parsed problem (tools/shape_parse.h), shared by
 * `nabla bench` and `nabla diff`. */
#ifndef NB_TOOL_PROBLEM_RUN_H
#define NB_TOOL_PROBLEM_RUN_H

#include "shape_parse.h"

typedef enum { NBT_DATA_NORMAL, NBT_DATA_UNIFORM, NBT_DATA_INTEGERS, NBT_DATA_SPECIALS } nbt_data;

typedef struct {
    nbt_problem p;
    float *in[3];          /* inputs (NULL when absent) */
    int64_t nin[3];
    float *c0;             /* sgemm: C before the call (read when beta != 0) */
    int64_t nout;          /* output elements */
    int odim;              /* the output's dims, for positions */
    int64_t oshape[NB_MAX_DIMS];
} nbt_buffers;

/* Parses "normal|uniform|integers|specials"; -1 when none of them. */
int nbt_data_parse(const char *s, nbt_data *d);

/* Allocates and fills the inputs (seeded); -1 when out of memory. */
int nbt_buffers_init(nbt_buffers *b, const nbt_problem *p, uint64_t seed, nbt_data data);
void nbt_buffers_free(nbt_buffers *b);

/* One call through the public API on the active ISA into out (nout
   floats; sgemm's out starts as c0 when reset is set). */
nb_status nbt_call(const nbt_buffers *b, float *out, int reset);

/* Flops of one call (0 for the memory-bound families) and bytes moved. */
double nbt_flops(const nbt_problem *p);
double nbt_bytes(const nbt_problem *p);

/* The family's output dims (the shape positions are printed in). */
void nbt_out_dims(const nbt_problem *p, int *ndim, int64_t *dims);

#endif
