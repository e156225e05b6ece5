/* Linear regression with nn.Linear, MSE and SGD: the loss goes down.
 *
 * The same in PyTorch:
 *
 *     torch.manual_seed(0)
 *     x = torch.randn(128, 3)
 *     y = x @ torch.tensor([[1.5], [-2.], [0.5]]) + 0.7 + 0.01 * torch.randn(128, 1)
 *     model = torch.nn.Linear(3, 1)
 *     opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
 *     for step in range(60):
 *         opt.zero_grad()
 *         loss = torch.nn.functional.mse_loss(model(x), y)
 *         loss.backward()
 *         opt.step()
 */
#include <stdio.h>

#include <nabla/nabla.h>

#define CHECK(x) do { if (!(x)) { fprintf(stderr, "error: %s\n", nb_last_error()); return 1; } } while (0)

int main(void) {
    nb_manual_seed(0);
    nb_tensor *x = nb_randn(2, (int64_t[]){128, 3}, NB_FLOAT32, NULL);
    nb_tensor *w_true = nb_tensor_new((float[]){1.5f, -2, 0.5f}, NB_FLOAT32, 2, (int64_t[]){3, 1});
    nb_tensor *noise = nb_randn(2, (int64_t[]){128, 1}, NB_FLOAT32, NULL);
    CHECK(x && w_true && noise);
    nb_tensor *xw = nb_matmul(x, w_true), *xwb = nb_add_scalar(xw, 0.7), *eps = nb_mul_scalar(noise, 0.01);
    nb_tensor *y = nb_add(xwb, eps);
    CHECK(y);

    nb_module *model = nb_linear_new(3, 1, true, NULL);
    nb_tensor *params[2];
    int n = nb_module_parameters(model, params, 2);
    nb_optimizer *opt = nb_sgd_new(n, params, 0.1, 0.5, 0.0);
    CHECK(model && opt);

    double first_loss = 0, last_loss = 0;
    for (int step = 0; step < 60; step++) {
        nb_optimizer_zero_grad(opt);
        nb_tensor *pred = nb_module_forward(model, x);
        nb_tensor *loss = nb_mse_loss(pred, y);
        CHECK(loss);
        CHECK(nb_backward(loss, NULL, false) == NB_OK);
        CHECK(nb_optimizer_step(opt) == NB_OK);
        double l;
        nb_tensor_item(loss, &l);
        if (step % 5 == 0 || step == 59) printf("step %2d  loss %.6f\n", step, l);
        if (step == 0) first_loss = l;
        last_loss = l;
        nb_tensor_release(pred);
        nb_tensor_release(loss);   /* frees the step's graph */
    }
    nb_tensor_print(params[0], "weight");
    nb_tensor_print(params[1], "bias");

    nb_optimizer_free(opt);
    nb_module_free(model);
    nb_tensor *all[] = {x, w_true, noise, xw, xwb, eps, y};
    for (int i = 0; i < 7; i++) nb_tensor_release(all[i]);
    const long long live = (long long)nb_tensor_live_count();
    printf("live tensors at exit: %lld\n", live);
    /* Exit status for the smoke test in examples/meson.build: training
       must have reduced the loss 100-fold and released every tensor. */
    return (last_loss < first_loss / 100 && live == 0) ? 0 : 1;
}
