// Helpers shared by the benchmark files.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

extern "C" {
#include <nabla/nabla.h>
}

namespace nbb {

// 64-byte aligned float buffer with deterministic random contents.
struct Buffer {
    float *p = nullptr;
    size_t n = 0;
    explicit Buffer(size_t count, float lo = -1.0f, float hi = 1.0f, unsigned seed = 1) : n(count) {
        void *q = nullptr;
        if (posix_memalign(&q, 64, (count ? count : 1) * sizeof(float)) != 0) std::abort();
        p = static_cast<float *>(q);
        std::mt19937 g(seed);
        std::uniform_real_distribution<float> d(lo, hi);
        for (size_t i = 0; i < count; i++) p[i] = d(g);
    }
    ~Buffer() { std::free(p); }
    Buffer(const Buffer &) = delete;
    Buffer &operator=(const Buffer &) = delete;
};

// Runs the benchmark body on a given ISA and restores the previous one.
struct IsaScope {
    nb_isa saved;
    bool ok;
    explicit IsaScope(nb_isa isa) : saved(nb_isa_active()), ok(nb_isa_set(isa) == NB_OK) {}
    ~IsaScope() { nb_isa_set(saved); }
};

}  // namespace nbb// Registers "ukernel/<kind>/<fn>" for every entry of a micro-kernel table
// expanded from the registry (bench_ukernels*.cc).
namespace nbb {
template <class Entry, size_t N>
int register_ukernels(const Entry (&entries)[N], void (*bm)(benchmark::State &, const Entry *)) {
    for (const Entry &e : entries) {
        const std::string name = std::string("ukernel/") + e.kind + "/" + e.fn;
        benchmark::RegisterBenchmark(name.c_str(), bm, &e);
    }
    return 0;
}
}  // namespace nbb


