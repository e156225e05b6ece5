/* nb_fill_ and nb_zero_: in-place fills, as nb_copy_ of a broadcast
 * scalar (so they record the same autograd node and refuse the same
 * aliasing cases), with errors naming themselves. */
#include <stdio.h>
#include <string.h>

#include "tensor_internal.h"

nb_status nb_fill_(nb_tensor *a, double v) {
    if (!a) return nb_error(NB_ERR_ARG, "nb_fill_", "a is NULL");
    nb_tensor *b = nb_scalar(v, a->dtype);
    if (!b) return NB_ERR_OOM;
    nb_status s = nb_copy_(a, b);
    nb_tensor_release(b);
    if (s) {
        /* Name this function, not the copy it delegated to. */
        const char *msg = nb_last_error();
        char buf[512];
        snprintf(buf, sizeof buf, "%s", strncmp(msg, "nb_copy_: ", 10) == 0 ? msg + 10 : msg);
        nb_error(s, "nb_fill_", "%s", buf);
    }
    return s;
}

nb_status nb_zero_(nb_tensor *a) {
    nb_status s = nb_fill_(a, 0.0);
    return s == NB_OK ? s : nb_error_context("nb_zero_");
}
