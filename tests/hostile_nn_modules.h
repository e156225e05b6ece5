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
    HN(nb_randperm, -1, NULL);
    HS(nb_mul_scalar_, I, 0.5);            /* a float scalar on int64 */
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

static void issue12_modules(void) {
    nb_named_tensor nt[4];
    HN(nb_module_new2, NULL, NULL);
    HN(nb_module_new2, (&(nb_module_vtable2){"NoForward", NULL, NULL}), NULL);
    HS(nb_module_add_parameter_named, NULL, "w", F);
    HS(nb_module_add_parameter_named, M, NULL, F);
    HS(nb_module_add_parameter_named, M, "w", NULL);
    HS(nb_module_add_parameter_named, M, "weight", F);   /* taken */
    HS(nb_module_add_parameter_named, M, "a.b", F);
    HS(nb_module_add_parameter_named, M, "", F);
    HS(nb_module_add_parameter_named, M, "a_name_that_is_much_longer_than_sixty_three_bytes_is_refused_here", F);
    HS(nb_module_add_buffer, NULL, "b", F);
    HS(nb_module_add_buffer, M, NULL, F);
    HS(nb_module_add_buffer, M, "b", NULL);
    HS(nb_module_add_buffer, M, "bias", F);
    HN(nb_module_buffer, NULL, "running_mean");
    HN(nb_module_buffer, M, NULL);
    HN(nb_module_buffer, M, "running_mean");
    HS(nb_module_add_child_named, NULL, "c", M2);
    HS(nb_module_add_child_named, M, NULL, M2);
    HS(nb_module_add_child_named, M, "c", NULL);
    HS(nb_module_add_child_named, M, "c", M);
    HS(nb_module_add_child_named, M, "weight", M2);
    HN(nb_module_forward2, NULL, F, F);
    HN(nb_module_forward2, M, NULL, F);
    HN(nb_module_forward2, M, F, NULL);
    HN(nb_module_forward2, M, F, F);                     /* Linear takes one input */
    HS(nb_module_train, NULL, false);
    HF(nb_module_is_training, NULL);
    HM(nb_module_named_parameters, NULL, nt, 4);
    HM(nb_module_named_parameters, M, nt, -1);
    HM(nb_module_named_buffers, NULL, nt, 4);
    HM(nb_module_named_buffers, M, nt, -2);
    HM(nb_module_state_dict, NULL, nt, 4);
    HM(nb_module_state_dict, M, NULL, -1);
    HN(nb_module_child_name, NULL, 0);
    HN(nb_module_child_name, M, 0);
    HN(nb_module_child_name, M, -1);
    HA0(nb_gelu_new);
    HA0(nb_tanh_new);
    HA0(nb_sigmoid_new);
    HN(nb_max_pool2d_new, 0, 2, 0, 0, 0, 0);
    HN(nb_max_pool2d_new, 2, 2, -1, 0, 0, 0);
    HN(nb_max_pool2d_new, 2, 2, 0, 0, 2, 0);
    HN(nb_avg_pool2d_new, 2, -2, 0, 0, 0, 0);
    HN(nb_avg_pool2d_new, 2, 2, 0, 0, 0, -1);
    HN(nb_dropout_new, -0.1, 1);
    HN(nb_dropout_new, NAN, 1);
    HN(nb_dropout_new, 1.5, 1);
    HN(nb_dropout, NULL, 0.5, true, NULL);
    HN(nb_dropout, F, 2.0, true, NULL);
    HN(nb_dropout, I, 0.5, true, NULL);
    HN(nb_batch_norm2d_new, 0, 1e-5, 0.1, true);
    HN(nb_batch_norm2d_new, 3, -1.0, 0.1, true);
    HN(nb_batch_norm2d_new, 3, 1e-5, 1.5, true);
    HN(nb_batch_norm2d_new, 3, 1e-5, NAN, true);
    HN(nb_batch_norm, NULL, NULL, NULL, NULL, NULL, true, 0.1, 1e-5);
    HN(nb_batch_norm, I, NULL, NULL, NULL, NULL, true, 0.1, 1e-5);
    HN(nb_batch_norm, X4, NULL, NULL, NULL, NULL, false, 0.1, 1e-5);    /* eval without running stats */
    HN(nb_batch_norm, X4, NULL, NULL, F, NULL, true, 0.1, 1e-5);        /* weight [2, 3] */
    HN(nb_batch_norm, X4, NULL, NULL, NULL, NULL, true, 2.0, 1e-5);
    HN(nb_batch_norm, X4, NULL, NULL, NULL, NULL, true, 0.1, -1.0);
    HN(nb_batch_norm, nb_zeros(4, S(1, 2, 1, 1), NB_FLOAT32), NULL, NULL, NULL, NULL, true, 0.1, 1e-5);
    HN(nb_cross_entropy_loss_new, -100, (nb_reduction)5);
    HN(nb_mse_loss_new, (nb_reduction)-3);
}

static void issue12_optimisers(void) {
    const nb_sgd_options sgd = {0.1, 0.9, 0.0, 0.0, true};
    HN(nb_sgd_new_ex, 1, &L, NULL);
    HN(nb_sgd_new_ex, 1, NULL, &sgd);
    HN(nb_sgd_new_ex, 1, &I, &sgd);
    HN(nb_sgd_new_ex, 1, &L, (&(nb_sgd_options){0.1, 0.0, 0.0, 0.0, true}));     /* Nesterov without momentum */
    HN(nb_sgd_new_ex, 1, &L, (&(nb_sgd_options){0.1, 0.9, 0.5, 0.0, true}));     /* Nesterov with dampening */
    HN(nb_sgd_new_ex, 1, &L, (&(nb_sgd_options){0.1, 0.9, -0.5, 0.0, false}));
    HN(nb_sgd_new_ex, 1, &L, (&(nb_sgd_options){NAN, 0.9, 0.0, 0.0, false}));
    HN(nb_adamw_new, 1, NULL, 0.1, 0.9, 0.999, 1e-8, 0.01);
    HN(nb_adamw_new, 1, &L, 0.1, 1.0, 0.999, 1e-8, 0.01);
    HN(nb_adamw_new, 1, &L, 0.1, 0.9, 0.999, 1e-8, -0.01);
    HN(nb_adamw_new, -3, &L, 0.1, 0.9, 0.999, 1e-8, 0.01);
    if (h_child("nb_optimizer_lr", "NULL")) h_done("nb_optimizer_lr", "NULL", isnan(nb_optimizer_lr(NULL)) ? NULL : "not NaN");
    HS(nb_optimizer_set_lr, NULL, 0.1);
    HS(nb_optimizer_set_lr, O, -0.1);
    HS(nb_optimizer_set_lr, O, NAN);
    HN(nb_step_lr_new, NULL, 1, 0.5);
    HN(nb_step_lr_new, O, 0, 0.5);
    HN(nb_step_lr_new, O, 2, -0.5);
    HN(nb_step_lr_new, O, 2, INFINITY);
    HN(nb_cosine_lr_new, NULL, 10, 0.0);
    HN(nb_cosine_lr_new, O, -1, 0.0);
    HN(nb_cosine_lr_new, O, 10, NAN);
    HS(nb_lr_scheduler_step, NULL);
    if (h_child("nb_lr_scheduler_last_lr", "NULL"))
        h_done("nb_lr_scheduler_last_lr", "NULL", isnan(nb_lr_scheduler_last_lr(NULL)) ? NULL : "not NaN");
    HV(nb_lr_scheduler_free, NULL);
}

static void issue12_state_io(void) {
    HS(nb_module_save, NULL, "/tmp/nbt_hostile.nbsd");
    HS(nb_module_save, M, NULL);
    HS(nb_module_save, M, "/nonexistent-dir/x/y.nbsd");
    HS(nb_module_save, M, "");
    HS(nb_module_load, NULL, "/tmp/nbt_hostile.nbsd");
    HS(nb_module_load, M, NULL);
    HS(nb_module_load, M, "/nonexistent-dir/x/y.nbsd");
    HS(nb_module_load, M, "/dev/null");              /* empty: no magic */
    HS(nb_module_load, M, "/");                      /* a directory */
    HS(nb_module_to_dtype, NULL, NB_FLOAT64);
    HS(nb_module_to_dtype, M, NB_INT64);             /* not floating */
    HS(nb_module_to_dtype, M, (nb_dtype)99);         /* not a dtype */
}

static void issue12_hostile_calls(void) {
    issue12_state_io();
    issue12_tensor_and_losses();
    issue12_modules();
    issue12_optimisers();
}

#endif
