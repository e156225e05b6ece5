/* The nabla command-line tool.
 *
 *   nabla info        version, CPU features, ISAs supported and active, threads
 *   nabla selftest    every SIMD family against the reference on random problems
 *   nabla bench       one call of the caller's problem, timed on every ISA
 *   nabla diff        one call of the caller's problem on every ISA against the reference
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nabla/nabla.h>

#include "cpu_features.h"
#include "nb_config.h"
#include "selftest.h"
#include "tools.h"

static void print_features(uint32_t f) {
    int any = 0;
    for (int i = 0; i < 32; i++) {
        const char *name = nb_cpu_feature_name(1u << i);
        if ((f & (1u << i)) && name) { printf("%s%s", any ? " " : "", name); any = 1; }
    }
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
    fprintf(out, "usage: nabla info | selftest [rounds] | bench ... | diff ...\n"
                 "  info       print the version, CPU features, supported and active ISA, threads\n"
                 "  selftest   run every SIMD family against the reference backend on random\n"
                 "             problems (shadow mode, NABLA_CHECK) and report the worst error\n"
                 "  bench FAMILY SHAPE [--isa LIST] [--threads LIST] | bench --replay LOG\n"
                 "             time one call on each ISA and thread count: median, rate, speed vs ref\n"
                 "  diff FAMILY SHAPE [--isa LIST] [--seed N] [--data normal|uniform|integers|specials]\n"
                 "       | diff --replay LOG\n"
                 "             run one call on each ISA and the reference: worst error / bound,\n"
                 "             where, NaN/Inf agreement; exit 1 if a result is outside its bound\n"
                 "  FAMILY SHAPE:  sgemm MxNxK [--trans-a] [--trans-b] [alpha=F] [beta=F]\n"
                 "                 conv2d-fwd|conv2d-bwd-data|conv2d-bwd-filter n8c128h28w28k128r3s3p1\n"
                 "                   (keys n c h w k r s, p|ph pw, st|sth stw, dl|dlh dlw, g)\n"
                 "                 reduce sum|mean|max|min 4096x4096 axes=0\n"
                 "                 copy permute 32x64x56x56 0,2,3,1\n"
                 "                 unary exp|log|tanh|sigmoid|gelu|relu 1048576\n"
                 "                 softmax softmax|logsoftmax 1024x1024\n"
                 "  LOG: stderr of a program run with NABLA_VERBOSE=1\n");
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
    if (strcmp(argv[1], "bench") == 0) return nbt_cmd_bench(argc - 2, argv + 2);
    if (strcmp(argv[1], "diff") == 0) return nbt_cmd_diff(argc - 2, argv + 2);
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) return usage(stdout);
    fprintf(stderr, "nabla: unknown command '%s'\n", argv[1]);
    return usage(stderr);
}
