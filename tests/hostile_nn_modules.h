/* Hostile calls for the functions added by issue 12 (tensor API gaps,
 * losses with options, modules, optimisers, schedules, save/load). Kept
 * apart from test_hostile_table.c so the table stays readable; included by
 * it after its fixtures (F, F3, I, L, X4, M, M2, O, S, BADT). */
#ifndef NBT_HOSTILE_NN_MODULES_H
#define NBT_HOSTILE_NN_MODULES_H

static void issue12_tensor_and_losses(void) {
    HN(nb_randint, 0, 0, 1, S(3), NULL);
    HN(nb_randint, 5, 1, 1, S(3), NULL);
    HN(nb_randint, 0, 2, 1, NULL, NULL);
    HN(nb_randint, 0, 2, 1, S(-1), NULL);
    HN(nb_flatten_dims, NULL, 0, -1);
    HN(nb_flatten_dims, F3, 2, 1);
    HN(nb_flatten_dims, F3, 0, 3);
    HN(nb_flatten_dims, F3, -4, 1);
    HS(nb_sub_scalar_, NULL, 1.0);
    HS(nb_sub_scalar_, L, 1.0);            /* a leaf that requires grad */
    HS(nb_div_scalar_, NULL, 1.0);
    HS(nb_div_scalar_, I, 2.0);            /* int64 cannot hold a true division */
    HN(nb_nll_loss_ex, NULL, I, -100, NB_REDUCTION_MEAN);
    HN(nb_nll_loss_ex, F, NULL, -100, NB_REDUCTION_MEAN);
    HN(nb_nll_loss_ex, F, I, -100, (nb_reduction)7);
    HN(nb_nll_loss_ex, F, nb_full(1, S(2), NB_INT64, -5.0), -100, NB_REDUCTION_SUM);
    HN(nb_nll_loss_ex, F3, I, -100, NB_REDUCTION_NONE);
    HN(nb_cross_entropy_ex, NULL, I, -100, NB_REDUCTION_MEAN);
    HN(nb_cross_entropy_ex, F, F, -100, NB_REDUCTION_MEAN);
    HN(nb_cross_entropy_ex, F, I, -100, (nb_reduction)-1);
    HN(nb_mse_loss_ex, NULL, F, NB_REDUCTION_SUM);
    HN(nb_mse_loss_ex, F, F3, NB_REDUCTION_NONE);
    HN(nb_mse_loss_ex, F, F, (nb_reduction)3);
}

static void issue12_hostile_calls(void) {
    issue12_tensor_and_losses();
}

#endif
