/* Shadow mode, NABLA_CHECK=1 (private): see check.c. */
#ifndef NB_CHECK_H
#define NB_CHECK_H

#include "kernels_table.h"

typedef enum {
    NB_CHECK_SGEMM, NB_CHECK_CONV_FWD, NB_CHECK_CONV_BWD_DATA, NB_CHECK_CONV_BWD_FILTER,
    NB_CHECK_REDUCE, NB_CHECK_COPY, NB_CHECK_UNARY, NB_CHECK_SOFTMAX, NB_CHECK_SLOTS
} nb_check_slot;

/* Overrides the float32 slots of t (a copy of the reference table) with
   wrappers that run the active ISA's slot, then the reference, and compare.
   Slots it does not know stay on the reference. Registers the exit summary. */
void nb_check_fill(struct nb_kernels *t);

/* Counters of one family so far (for tests and `nabla selftest`). */
void nb_check_stats(nb_check_slot s, long *calls, long *violations, double *worst);

/* The active ISA's own table, never the check wrapper. */
const struct nb_kernels *nb_kernels_active_unchecked(void);

#endif
