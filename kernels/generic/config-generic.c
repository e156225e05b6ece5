/* The plain-C configuration: the micro-kernel families that have a plain-C
 * micro-kernel, written for the baseline ISA (no ISA flags; this folder is
 * compiled into the portable library with -ffp-contract=off like src/).
 *
 * Why a folder of its own rather than src/: these are leaves of the same
 * contract as kernels/<isa>/ (they include only src/ukernel.h, are named
 * __scalar and are listed in its registry), so the differential tests and
 * benchmarks treat them as one more ISA column, and src/ keeps only the
 * drivers. Only the elementwise families (binary rows, gradient rules,
 * optimiser updates) are here for now: every SIMD ISA's configuration
 * starts from this one (src/isa_ops.c) and overrides what it has, and
 * NB_ISA_REF's configuration is this one alone.
 */
#include "ukernel.h"

void nb_generic_config(nb_ukernel_config *cfg) {
    NB_F32_VBINARY_OPS(NB_F32_VBINARY_SET, NB_ISA_REF, scalar)
    cfg->sgd = nb_f32_sgd_ukernel__scalar;
    cfg->adam = nb_f32_adam_ukernel__scalar;
    cfg->maxpool = nb_f32_maxpool_ukernel__scalar;
    cfg->avgpool = nb_f32_avgpool_ukernel__scalar;
    cfg->maxpool_bwd = nb_f32_maxpool_bwd_ukernel__scalar;
    NB_F32_BNORM_SET(scalar)
}
