/* Run-time CPU feature detection.
 *
 * x86-64: CPUID says what the core implements, XGETBV says whether the OS
 * saves the YMM state on context switches. AVX/AVX2/FMA are only usable when
 * both agree (OSXSAVE set and XCR0 bits 1 and 2 on); a hypervisor or kernel
 * may hide the state even when CPUID advertises AVX2. AArch64: the kernel's
 * HWCAP bits. This file is compiled with baseline flags only.
 */
#include "cpu_features.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static uint64_t read_xcr0(void) {
    uint32_t lo, hi;
    /* xgetbv with ecx = 0; encoded as bytes so no -mxsave is needed. */
    __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static uint32_t detect(void) {
    uint32_t a, b, c, d, f = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    if (d & (1u << 26)) f |= NB_CPU_SSE2;
    if (c & (1u << 20)) f |= NB_CPU_SSE42;
    const bool osxsave = (c & (1u << 27)) != 0;
    const bool avx     = (c & (1u << 28)) != 0;
    const bool fma     = (c & (1u << 12)) != 0;
    const bool f16c    = (c & (1u << 29)) != 0;
    if (!osxsave || !avx) return f;
    const uint64_t xcr0 = read_xcr0();
    if ((xcr0 & 0x6) != 0x6) return f;          /* XMM and YMM state not both enabled */
    f |= NB_CPU_AVX;
    if (fma)  f |= NB_CPU_FMA;
    if (f16c) f |= NB_CPU_F16C;
    uint32_t max_leaf = __get_cpuid_max(0, NULL);
    if (max_leaf >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        if (b & (1u << 5)) f |= NB_CPU_AVX2;
        /* AVX-512 additionally needs opmask and ZMM state (XCR0 bits 5-7). */
        if ((xcr0 & 0xe0) == 0xe0) {
            if (b & (1u << 16)) f |= NB_CPU_AVX512F;
            if (b & (1u << 17)) f |= NB_CPU_AVX512DQ;
            if (b & (1u << 30)) f |= NB_CPU_AVX512BW;
            if (b & (1u << 31)) f |= NB_CPU_AVX512VL;
        }
    }
    return f;
}

static nb_cpu_caches_t detect_caches(void) {
    nb_cpu_caches_t cc = {0, 0};
    uint32_t a, b, c, d;
    if (__get_cpuid_max(0, NULL) >= 4)
        for (uint32_t i = 0; i < 16; i++) {   /* deterministic cache parameters (Intel) */
            __cpuid_count(4, i, a, b, c, d);
            const uint32_t type = a & 31, level = (a >> 5) & 7;
            if (type == 0) break;
            const int64_t bytes = (int64_t)((b >> 22) + 1) * (((b >> 12) & 0x3ff) + 1) *
                                  ((b & 0xfff) + 1) * ((int64_t)c + 1);
            if (level == 1 && type == 1) cc.l1d = bytes;
            if (level == 2 && (type == 1 || type == 3)) cc.l2 = bytes;
        }
    const uint32_t ext = __get_cpuid_max(0x80000000u, NULL);
    if (cc.l1d == 0 && ext >= 0x80000005u) {   /* AMD: L1d KiB in ECX[31:24] */
        __cpuid(0x80000005u, a, b, c, d);
        cc.l1d = (int64_t)(c >> 24) * 1024;
    }
    if (cc.l2 == 0 && ext >= 0x80000006u) {   /* L2 KiB in ECX[31:16] */
        __cpuid(0x80000006u, a, b, c, d);
        cc.l2 = (int64_t)(c >> 16) * 1024;
    }
    return cc;
}

#elif defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1 << 1)
#endif
#ifndef HWCAP_ASIMDHP
#define HWCAP_ASIMDHP (1 << 10)
#endif

static uint32_t detect(void) {
    unsigned long hw = getauxval(AT_HWCAP);
    uint32_t f = 0;
    if (hw & HWCAP_ASIMD)   f |= NB_CPU_ASIMD;
    if (hw & HWCAP_ASIMDHP) f |= NB_CPU_FP16;
    return f;
}

#else
static uint32_t detect(void) { return 0; }
#endif
#if !defined(__x86_64__) && !defined(__i386__)
static nb_cpu_caches_t detect_caches(void) { return (nb_cpu_caches_t){0, 0}; }
#endif

static int64_t cache_l1d = -1, cache_l2 = -1;   /* -1: not detected yet */
static int64_t override_l1d = -1, override_l2 = -1;

nb_cpu_caches_t nb_cpu_caches(void) {
    if (__atomic_load_n(&cache_l2, __ATOMIC_ACQUIRE) < 0) {
        const nb_cpu_caches_t cc = detect_caches();
        __atomic_store_n(&cache_l1d, cc.l1d, __ATOMIC_RELAXED);
        __atomic_store_n(&cache_l2, cc.l2, __ATOMIC_RELEASE);
    }
    const int64_t o1 = __atomic_load_n(&override_l1d, __ATOMIC_RELAXED);
    const int64_t o2 = __atomic_load_n(&override_l2, __ATOMIC_RELAXED);
    return (nb_cpu_caches_t){o1 >= 0 ? o1 : __atomic_load_n(&cache_l1d, __ATOMIC_RELAXED),
                             o2 >= 0 ? o2 : __atomic_load_n(&cache_l2, __ATOMIC_RELAXED)};
}

void nb_cpu_caches_override(int64_t l1d, int64_t l2) {
    __atomic_store_n(&override_l1d, l1d < 0 ? -1 : l1d, __ATOMIC_RELAXED);
    __atomic_store_n(&override_l2, l2 < 0 ? -1 : l2, __ATOMIC_RELAXED);
}

uint32_t nb_cpu_features(void) {
    static uint32_t cached;
    static int done;
    if (!__atomic_load_n(&done, __ATOMIC_ACQUIRE)) {
        __atomic_store_n(&cached, detect(), __ATOMIC_RELAXED);
        __atomic_store_n(&done, 1, __ATOMIC_RELEASE);
    }
    return __atomic_load_n(&cached, __ATOMIC_RELAXED);
}

bool nb_cpu_can_run(nb_isa isa) {
    const uint32_t f = nb_cpu_features();
    switch (isa) {
    case NB_ISA_REF:  return true;
    case NB_ISA_AVX2: {
        const uint32_t need = NB_CPU_AVX | NB_CPU_AVX2 | NB_CPU_FMA;
        return (f & need) == need;
    }
    case NB_ISA_NEON: return (f & NB_CPU_ASIMD) != 0;
    case NB_ISA_AVX512: {   /* x86-64-v4 (its kernels also use AVX2+FMA ones) */
        const uint32_t need = NB_CPU_AVX | NB_CPU_AVX2 | NB_CPU_FMA | NB_CPU_AVX512F |
                              NB_CPU_AVX512BW | NB_CPU_AVX512DQ | NB_CPU_AVX512VL;
        return (f & need) == need;
    }
    }
    return false;
}

/* The name of one NB_CPU_* bit as `nabla info` prints it (lower case, as
   /proc/cpuinfo spells it); NULL for a bit nabla does not define. Kept next
   to the detection so that a new feature is named where it is detected. */
const char *nb_cpu_feature_name(uint32_t bit) {
    switch (bit) {
    case NB_CPU_SSE2: return "sse2";
    case NB_CPU_SSE42: return "sse4.2";
    case NB_CPU_AVX: return "avx";
    case NB_CPU_AVX2: return "avx2";
    case NB_CPU_FMA: return "fma";
    case NB_CPU_F16C: return "f16c";
    case NB_CPU_AVX512F: return "avx512f";
    case NB_CPU_AVX512BW: return "avx512bw";
    case NB_CPU_AVX512DQ: return "avx512dq";
    case NB_CPU_AVX512VL: return "avx512vl";
    case NB_CPU_ASIMD: return "asimd";
    case NB_CPU_FP16: return "fp16";
    default: return NULL;
    }
}
