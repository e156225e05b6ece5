/* The nabla command-line tool.
 *
 *   nabla info        version, CPU features, ISAs supported and active, threads
 *   nabla selftest    every SIMD family against the reference on random problems
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nabla/nabla.h>

#include "nb_config.h"
#include "selftest.h"

static void print_features(uint32_t f) {
    static const struct { uint32_t bit; const char *name; } names[] = {
        {NB_CPU_SSE2, "sse2"}, {NB_CPU_SSE42, "sse4.2"}, {NB_CPU_AVX, "avx"},
        {NB_CPU_AVX2, "avx2"}, {NB_CPU_FMA, "fma"},      {NB_CPU_F16C, "f16c"},
        {NB_CPU_AVX512F, "avx512f"}, {NB_CPU_AVX512BW, "avx512bw"}, {NB_CPU_AVX512DQ, "avx512dq"},
        {NB_CPU_AVX512VL, "avx512vl"}, {NB_CPU_ASIMD, "asimd"}, {NB_CPU_FP16, "fp16"},
    };
    int any = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (f & names[i].bit) { printf("%s%s", any ? " " : "", names[i].name); any = 1; }
    printf("%s\n", any ? "" : "(none detected)");
}

static int cmd_info(void) {
    printf("nabla %s\n", nb_version());
    printf("cpu features:  ");
    print_features(nb_cpu_features());
    printf("isa supported:");
    for (int i = NB_ISA_REF; i < NB_ISA_COUNT; i++)
        if (nb_isa_supported((nb_isa)i)) printf(" %s", nb_isa_name((nb_isa)i));
    printf("\nisa active:    %s\n", nb_isa_name(nb_isa_active()));
    printf("threads:       %d\n", nb_get_num_threads());
    return 0;
}

static int usage(FILE *out) {
    fprintf(out, "usage: nabla info | nabla selftest [rounds]\n"
                 "  info       print the version, CPU features, supported and active ISA, threads\n"
                 "  selftest   run every SIMD family against the reference backend on random\n"
                 "             problems (shadow mode, NABLA_CHECK) and report the worst error\n");
    return out == stdout ? 0 : 2;
}

int main(int argc, char **argv) {
    if (argc < 2) return usage(stderr);
    if (strcmp(argv[1], "info") == 0) return cmd_info();
    if (strcmp(argv[1], "selftest") == 0) {
        /* Shadow mode is read at the library's first use, which is below. */
        setenv("NABLA_CHECK", "1", 1);
        return nb_tool_selftest(argc > 2 ? atoi(argv[2]) : 20);
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) return usage(stdout);
    fprintf(stderr, "nabla: unknown command '%s'\n", argv[1]);
    return usage(stderr);
}
