// Training steps and tiny tensor ops through the public tensor API, one
// thread: steps/nabla/<model> and tiny/nabla/<op>_4, as a user writes them.
// scripts/bench_torch_steps.py times the same rows on PyTorch (same models,
// shapes, loss, optimiser, one thread) as steps/pytorch/... and
// tiny/pytorch/..., and can merge them into this program's JSON, so the
// report prints both side by side. Rates are items/s: one step or one op
// per item (nabla's time / PyTorch's = PyTorch's rate / nabla's).
//   mlp_784_256_10_b128: Linear(784,256)-ReLU-Linear(256,10), batch 128;
//   cnn_8x8_b64: [64,1,8,8] Conv2d(1,16,3,p1)-ReLU-MaxPool2-Conv2d(16,32,3,p1)
//                -ReLU-MaxPool2-Flatten-Linear(128,10);
// each step: forward, cross-entropy, zero_grad, backward, SGD(lr 0.01).
#include "bench_util.h"

#include <benchmark/benchmark.h>

namespace {

struct OneThread {
    int saved = nb_get_num_threads();
    OneThread() { nb_set_num_threads(1); }
    ~OneThread() { nb_set_num_threads(saved); }
};

nb_module *mlp(nb_generator *g) {
    nb_module *m[3] = {nb_linear_new(784, 256, true, g), nb_relu_new(), nb_linear_new(256, 10, true, g)};
    return nb_sequential_new(3, m);
}

nb_module *cnn(nb_generator *g) {
    nb_conv2d_params p = nb_conv2d_defaults();
    p.pad_h = p.pad_w = 1;
    struct Pool {   // MaxPool2d(2) as a module of the public module API
        static nb_tensor *fwd(nb_module *, nb_tensor *x) { return nb_max_pool2d(x, 2, 2, 2, 2, 0, 0); }
    };
    static const nb_module_vtable pool_vt = {"MaxPool2d", Pool::fwd, nullptr};
    nb_module *m[8] = {nb_conv2d_new(1, 16, 3, 3, &p, true, g), nb_relu_new(), nb_module_new(&pool_vt, nullptr),
                       nb_conv2d_new(16, 32, 3, 3, &p, true, g), nb_relu_new(), nb_module_new(&pool_vt, nullptr),
                       nb_flatten_new(), nb_linear_new(128, 10, true, g)};
    return nb_sequential_new(8, m);
}

void bm_step(benchmark::State &state, bool conv) {
    OneThread one;
    nb_generator *g = nb_generator_new(7);
    nb_module *model = conv ? cnn(g) : mlp(g);
    const int64_t batch = conv ? 64 : 128;
    const int64_t xs_mlp[2] = {batch, 784}, xs_cnn[4] = {batch, 1, 8, 8}, ts[1] = {batch};
    nb_tensor *x = conv ? nb_randn(4, xs_cnn, NB_FLOAT32, g) : nb_randn(2, xs_mlp, NB_FLOAT32, g);
    std::vector<int64_t> labels(static_cast<size_t>(batch));
    for (int64_t i = 0; i < batch; i++) labels[size_t(i)] = (i * 7) % 10;
    nb_tensor *t = nb_tensor_new(labels.data(), NB_INT64, 1, ts);
    nb_tensor *params[16];
    const int np = nb_module_parameters(model, params, 16);
    nb_optimizer *opt = np > 0 ? nb_sgd_new(np, params, 0.01, 0.0, 0.0) : nullptr;
    if (!model || !x || !t || !opt) {
        state.SkipWithError(nb_last_error());
        return;
    }
    for (auto _ : state) {
        nb_tensor *y = nb_module_forward(model, x);
        nb_tensor *loss = y ? nb_cross_entropy(y, t) : nullptr;
        nb_optimizer_zero_grad(opt);
        nb_status s = loss ? nb_backward(loss, nullptr, false) : NB_ERR_OOM;
        if (s == NB_OK) s = nb_optimizer_step(opt);
        nb_tensor_release(loss);
        nb_tensor_release(y);
        if (s != NB_OK) {
            state.SkipWithError(nb_last_error());
            break;
        }
    }
    state.SetItemsProcessed(int64_t(state.iterations()));
    nb_optimizer_free(opt);
    nb_module_free(model);
    nb_tensor_release(x);
    nb_tensor_release(t);
    nb_generator_free(g);
}

enum Tiny { kAdd, kRelu, kSum };

void bm_tiny(benchmark::State &state, Tiny op) {
    OneThread one;
    const float va[4] = {1, -2, 3, -4}, vb[4] = {0.5f, 0.5f, 0.5f, 0.5f};
    const int64_t s4[1] = {4};
    nb_tensor *a = nb_tensor_new(va, NB_FLOAT32, 1, s4), *b = nb_tensor_new(vb, NB_FLOAT32, 1, s4);
    for (auto _ : state) {
        nb_tensor *y = op == kAdd ? nb_add(a, b) : op == kRelu ? nb_relu(a) : nb_sum(a, 0, nullptr, false);
        benchmark::DoNotOptimize(y);
        nb_tensor_release(y);
    }
    state.SetItemsProcessed(int64_t(state.iterations()));
    nb_tensor_release(a);
    nb_tensor_release(b);
}

int register_all() {
    benchmark::RegisterBenchmark("steps/nabla/mlp_784_256_10_b128", [](benchmark::State &s) { bm_step(s, false); })
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("steps/nabla/cnn_8x8_b64", [](benchmark::State &s) { bm_step(s, true); })
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("tiny/nabla/add_4", [](benchmark::State &s) { bm_tiny(s, kAdd); });
    benchmark::RegisterBenchmark("tiny/nabla/relu_4", [](benchmark::State &s) { bm_tiny(s, kRelu); });
    benchmark::RegisterBenchmark("tiny/nabla/sum_4", [](benchmark::State &s) { bm_tiny(s, kSum); });
    return 0;
}
const int registered = register_all();

}  // namespace
