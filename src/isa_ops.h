/* The SIMD ISAs' dispatch-table slots, built on the portable drivers and
 * each ISA's micro-kernel configuration (src/isa_ops.c). */
#ifndef NB_ISA_OPS_H
#define NB_ISA_OPS_H

#include "kernels_table.h"
#include "ukernel.h"

/* Overrides t's float32 slots with the drivers over `isa`'s micro-kernels
   (the CPU must be able to run it); returns how many slots it set, 0 for
   an ISA this build has no kernels for. Not thread-safe: called once per
   ISA by dispatch's initialisation. */
int nb_isa_ops_fill(nb_isa isa, struct nb_kernels *t);

/* The micro-kernel configuration of `isa` (NULL when this CPU or build
   cannot run it): the SIMD ISAs' own (every family), for NB_ISA_REF the
   plain-C one (the families of nb_generic_config only). Filled once; the
   pointer stays valid and read-only for the life of the process. */
const nb_ukernel_config *nb_ukernels_for(nb_isa isa);
/* nb_ukernels_for(nb_isa_active()): what the tensor layer calls its
   elementwise rows through. */
const nb_ukernel_config *nb_ukernels_active(void);

#endif
