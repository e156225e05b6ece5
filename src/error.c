/* Status strings and the thread-local last-error message. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "nabla/tensor.h"   /* nb_last_status: its NB_API declaration gives it default visibility */

static _Thread_local char last_error[512];
static _Thread_local nb_status last_status;

const char *nb_status_str(nb_status s) {
    switch (s) {
    case NB_OK:              return "ok";
    case NB_ERR_ARG:         return "invalid argument";
    case NB_ERR_SHAPE:       return "shape mismatch";
    case NB_ERR_DTYPE:       return "unsupported dtype";
    case NB_ERR_OOM:         return "out of memory";
    case NB_ERR_UNSUPPORTED: return "unsupported";
    case NB_ERR_OVERFLOW:    return "size overflow";
    case NB_ERR_ALIAS:       return "overlapping input and output";
    case NB_ERR_STATE:       return "invalid state";
    }
    return "unknown status";
}

const char *nb_last_error(void) { return last_error; }

/* Declared in nabla/tensor.h: the status behind nb_last_error(), for the
   tensor functions that report failure by returning NULL. */
nb_status nb_last_status(void) { return last_status; }

nb_status nb_error_context(const char *fn) {
    const size_t n = strlen(fn);
    if (strncmp(last_error, fn, n) == 0 && last_error[n] == ':') return last_status;
    if (n + 2 >= sizeof last_error) return last_status;
    memmove(last_error + n + 2, last_error, sizeof last_error - n - 3);
    last_error[sizeof last_error - 1] = '\0';
    memcpy(last_error, fn, n);
    last_error[n] = ':';
    last_error[n + 1] = ' ';
    return last_status;
}

nb_status nb_error(nb_status s, const char *fn, const char *fmt, ...) {
    last_status = s;
    int n = snprintf(last_error, sizeof last_error, "%s: ", fn);
    if (n < 0 || (size_t)n >= sizeof last_error) n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error + n, sizeof last_error - (size_t)n, fmt, ap);
    va_end(ap);
    if (nb_verbose_enabled())
        fprintf(stderr, "nabla: error (%s): %s\n", nb_status_str(s), last_error);
    return s;
}
