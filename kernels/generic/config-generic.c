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
    cfg->vbinary[NB_VBIN_ADD] = (nb_f32_vbinary_ukernels){nb_f32_vadd_ukernel__scalar, nb_f32_vaddc_ukernel__scalar,
                                                   nb_f32_vraddc_ukernel__scalar};
    cfg->vbinary[NB_VBIN_SUB] = (nb_f32_vbinary_ukernels){nb_f32_vsub_ukernel__scalar, nb_f32_vsubc_ukernel__scalar,
                                                   nb_f32_vrsubc_ukernel__scalar};
    cfg->vbinary[NB_VBIN_MUL] = (nb_f32_vbinary_ukernels){nb_f32_vmul_ukernel__scalar, nb_f32_vmulc_ukernel__scalar,
                                                   nb_f32_vrmulc_ukernel__scalar};
    cfg->vbinary[NB_VBIN_DIV] = (nb_f32_vbinary_ukernels){nb_f32_vdiv_ukernel__scalar, nb_f32_vdivc_ukernel__scalar,
                                                   nb_f32_vrdivc_ukernel__scalar};
    cfg->vbinary[NB_VBIN_EQ] = (nb_f32_vbinary_ukernels){nb_f32_veq_ukernel__scalar, nb_f32_veqc_ukernel__scalar,
                                                   nb_f32_vreqc_ukernel__scalar};
    cfg->vbinary[NB_VBIN_RELU_GRAD] = (nb_f32_vbinary_ukernels){nb_f32_vrelugrad_ukernel__scalar, nb_f32_vrelugradc_ukernel__scalar,
                                                   nb_f32_vrrelugradc_ukernel__scalar};
    cfg->vbinary[NB_VBIN_TANH_GRAD] = (nb_f32_vbinary_ukernels){nb_f32_vtanhgrad_ukernel__scalar, nb_f32_vtanhgradc_ukernel__scalar,
                                                   nb_f32_vrtanhgradc_ukernel__scalar};
    cfg->vbinary[NB_VBIN_SIGMOID_GRAD] = (nb_f32_vbinary_ukernels){nb_f32_vsigmoidgrad_ukernel__scalar, nb_f32_vsigmoidgradc_ukernel__scalar,
                                                   nb_f32_vrsigmoidgradc_ukernel__scalar};
    cfg->sgd = nb_f32_sgd_ukernel__scalar;
    cfg->adam = nb_f32_adam_ukernel__scalar;
}
