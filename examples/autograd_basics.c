/* y = relu(w @ x + b).sum(); y.backward(); print the gradients.
 *
 * The same in PyTorch:
 *
 *     import torch
 *     w = torch.tensor([[1., -2., 3.], [0.5, 1., -1.]], requires_grad=True)
 *     b = torch.tensor([0.1, -2.], requires_grad=True)
 *     x = torch.tensor([2., 1., 0.5])
 *     y = (w @ x + b).relu().sum()
 *     y.backward()
 *     print(y, w.grad, b.grad)
 *     # y = 1.6, w.grad = [[2, 1, 0.5], [0, 0, 0]], b.grad = [1, 0]
 */
#include <stdio.h>

#include <nabla/nabla.h>

#define CHECK(x) do { if (!(x)) { fprintf(stderr, "error: %s\n", nb_last_error()); return 1; } } while (0)

int main(void) {
    nb_tensor *w = nb_tensor_new((float[]){1, -2, 3, 0.5f, 1, -1}, NB_FLOAT32, 2, (int64_t[]){2, 3});
    nb_tensor *b = nb_tensor_new((float[]){0.1f, -2.0f}, NB_FLOAT32, 1, (int64_t[]){2});
    nb_tensor *x = nb_tensor_new((float[]){2, 1, 0.5f}, NB_FLOAT32, 1, (int64_t[]){3});
    CHECK(w && b && x);
    nb_tensor_requires_grad_(w, true);
    nb_tensor_requires_grad_(b, true);

    nb_tensor *wx = nb_matmul(w, x);          /* w @ x        */
    nb_tensor *z = nb_add(wx, b);             /*        + b   */
    nb_tensor *r = nb_relu(z);                /* .relu()      */
    nb_tensor *y = nb_sum_all(r);             /* .sum()       */
    CHECK(y);
    CHECK(nb_backward(y, NULL, false) == NB_OK);   /* y.backward() */

    nb_tensor_print(y, "y");
    nb_tensor_print(nb_tensor_grad(w), "w.grad");
    nb_tensor_print(nb_tensor_grad(b), "b.grad");

    /* Every tensor is reference counted: release what we made. */
    nb_tensor *all[] = {w, b, x, wx, z, r, y};
    for (int i = 0; i < 7; i++) nb_tensor_release(all[i]);
    return 0;
}
