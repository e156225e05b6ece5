/* The dispatch table: one struct of function pointers per ISA, built once.
 *
 * Each ISA table starts as a copy of the reference table and its backend
 * overrides the slots it implements, so no slot is ever NULL. The active ISA
 * is chosen at first use (NABLA_ISA, else the best supported) and can be
 * changed with nb_isa_set(); it is an atomic index, so a change is seen by
 * later calls on every thread.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check.h"
#include "cpu_features.h"
#include "internal.h"
#include "isa_ops.h"
#include "kernels_table.h"
#include "nb_config.h"

static struct nb_kernels tables[NB_ISA_COUNT];
static bool usable[NB_ISA_COUNT];
static int active_isa;                 /* accessed atomically */
/* NABLA_CHECK: shadow-mode wrappers, one per ISA so that `isa` names the
   backend being shadowed (the wrappers call the active ISA's own table). */
static struct nb_kernels check_tables[NB_ISA_COUNT];
static bool check_mode;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

const char *const nb_kernel_slot_names[] = {
#define NB_SLOT(name, type) #name,
#include "kernels.def"
#undef NB_SLOT
};
const int nb_kernel_slot_count = (int)(sizeof nb_kernel_slot_names / sizeof nb_kernel_slot_names[0]);

bool nb_kernels_slot_is_set(const struct nb_kernels *t, int i) {
    int k = 0;
#define NB_SLOT(name, type) if (k++ == i) return t->name != NULL;
#include "kernels.def"
#undef NB_SLOT
    return false;
}

bool nb_kernels_slot_differs(const struct nb_kernels *a, const struct nb_kernels *b, int i) {
    int k = 0;
#define NB_SLOT(name, type) if (k++ == i) return a->name != b->name;
#include "kernels.def"
#undef NB_SLOT
    return false;
}

/* "avx2, neon," : the SIMD ISAs' names for messages. */
#define NB_ISA_NAME_ITEM(name, value) #name ", "
#define NB_ISA_NAME_LIST NB_ALL_SIMD_ISAS(NB_ISA_NAME_ITEM)

/* The first usable ISA of the build's list (nb_config.h: in order of
   preference), else the reference. */
static nb_isa best_isa(void) {
#define NB_BEST_IF_USABLE(name, value) if (usable[value]) return value;
    NB_ALL_SIMD_ISAS(NB_BEST_IF_USABLE)
#undef NB_BEST_IF_USABLE
    return NB_ISA_REF;
}

static void build_table(nb_isa isa) {
    tables[isa] = nb_kernels_ref;
    tables[isa].isa = isa;
    if (isa == NB_ISA_REF) { usable[isa] = true; return; }
    if (!nb_cpu_can_run(isa)) return;
    const int overridden = nb_isa_ops_fill(isa, &tables[isa]);
    /* An ISA without a single kernel of its own is not "supported". */
    usable[isa] = overridden > 0;
}

static void init(void) {
    for (int i = 0; i < NB_ISA_COUNT; i++) build_table((nb_isa)i);
    nb_isa chosen = best_isa();
    const char *env = getenv("NABLA_ISA");
    if (env && *env && strcasecmp(env, "auto") != 0) {
        int want = -1;
        for (int i = 0; i < NB_ISA_COUNT; i++)
            if (strcasecmp(env, nb_isa_name((nb_isa)i)) == 0) want = i;
        if (want < 0)
            fprintf(stderr, "nabla: NABLA_ISA=%s is not one of ref, %sauto; using %s\n", env,
                    NB_ISA_NAME_LIST, nb_isa_name(chosen));
        else if (!usable[want])
            fprintf(stderr, "nabla: NABLA_ISA=%s is not supported on this CPU/build; using %s\n",
                    env, nb_isa_name(chosen));
        else
            chosen = (nb_isa)want;
    }
    __atomic_store_n(&active_isa, (int)chosen, __ATOMIC_RELEASE);
    const char *chk = getenv("NABLA_CHECK");
    if (chk && *chk && strcmp(chk, "0") != 0) {
        for (int i = 0; i < NB_ISA_COUNT; i++) {
            check_tables[i] = nb_kernels_ref;
            check_tables[i].isa = (nb_isa)i;
            nb_check_fill(&check_tables[i], nb_kernels_active_unchecked);
        }
        check_mode = true;
    }
}

const struct nb_kernels *nb_kernels_active_unchecked(void) {
    pthread_once(&init_once, init);
    return &tables[__atomic_load_n(&active_isa, __ATOMIC_ACQUIRE)];
}

const struct nb_kernels *nb_kernels_active(void) {
    const struct nb_kernels *t = nb_kernels_active_unchecked();
    /* Shadow mode wraps every ISA but the reference itself. */
    return (check_mode && t->isa != NB_ISA_REF) ? &check_tables[t->isa] : t;
}

const struct nb_kernels *nb_kernels_for(nb_isa isa) {
    pthread_once(&init_once, init);
    if ((unsigned)isa >= NB_ISA_COUNT || !usable[isa]) return NULL;
    return &tables[isa];
}

nb_isa nb_isa_active(void) { return nb_kernels_active_unchecked()->isa; }

int nb_isa_supported(nb_isa isa) { return nb_kernels_for(isa) != NULL; }

nb_status nb_isa_set(nb_isa isa) {
    if ((unsigned)isa >= NB_ISA_COUNT)
        return nb_error(NB_ERR_ARG, "nb_isa_set", "isa = %d is not an nb_isa value", (int)isa);
    if (!nb_isa_supported(isa))
        return nb_error(NB_ERR_UNSUPPORTED, "nb_isa_set",
                        "isa = %s is not supported by this CPU or build", nb_isa_name(isa));
    __atomic_store_n(&active_isa, (int)isa, __ATOMIC_RELEASE);
    return NB_OK;
}

const nb_ukernel_config *nb_ukernels_for(nb_isa isa) {
    pthread_once(&init_once, init);
    if ((unsigned)isa >= NB_ISA_COUNT || !usable[isa]) return NULL;
    return nb_isa_ops_config(isa);
}

const nb_ukernel_config *nb_ukernels_active(void) { return nb_ukernels_for(nb_isa_active()); }
