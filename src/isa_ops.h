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

/* The configuration `isa`'s slots run on: the plain-C one for NB_ISA_REF
   (filled on first use), a SIMD ISA's own once nb_isa_ops_fill has run
   for it; NULL for an ISA this build lacks. Callers outside dispatch use
   nb_ukernels_for() (kernels_table.h), which checks the CPU first. */
const nb_ukernel_config *nb_isa_ops_config(nb_isa isa);

#endif
