/* The reference dispatch table: every slot, plain C. */
#include "ref.h"

const struct nb_kernels nb_kernels_ref = {
    .isa = NB_ISA_REF,
#define NB_SLOT(name, type) .name = nb_ref_##name,
#include "kernels.def"
#undef NB_SLOT
};
