/* The problem descriptors of `nabla bench` and `nabla diff`.
 *
 *   sgemm              MxNxK [--trans-a] [--trans-b] [alpha=F] [beta=F]
 *   conv2d-fwd, conv2d-bwd-data, conv2d-bwd-filter
 *                      n8c128h28w28k128r3s3p1: a run of key+number, keys
 *                      n c h w k r s, p (both pads) ph pw, st (both
 *                      strides) sth stw, dl (both dilations) dlh dlw, g
 *                      (groups); n 1, w = h, s = r, st 1, p 0, dl 1, g 1
 *                      when absent
 *   reduce             sum|mean|max|min DIMS axes=A,B,...   (4096x4096 axes=0)
 *   copy               permute DIMS P0,P1,...  (dst = src.permute(P) made contiguous)
 *   unary              exp|log|tanh|sigmoid|gelu|relu N
 *   softmax            softmax|logsoftmax ROWSxCOLS
 *
 * Sizes are positive; every buffer's byte count is checked for overflow and
 * against a memory limit before anything is allocated.
 */
#ifndef NB_TOOL_SHAPE_PARSE_H
#define NB_TOOL_SHAPE_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include <nabla/nabla.h>

typedef enum {
    NBT_SGEMM, NBT_CONV_FWD, NBT_CONV_BWD_DATA, NBT_CONV_BWD_FILTER,
    NBT_REDUCE, NBT_COPY, NBT_UNARY, NBT_SOFTMAX, NBT_FAMILIES
} nbt_family;

typedef struct {
    nbt_family family;
    /* sgemm */
    int trans_a, trans_b;
    int64_t m, n, k;
    float alpha, beta;
    /* conv */
    nb_conv2d_desc conv;
    /* reduce, copy */
    nb_reduce_op rop;
    int ndim;
    int64_t shape[NB_MAX_DIMS];
    uint64_t axes;
    int perm[NB_MAX_DIMS];
    /* unary (count), softmax (rows x cols) */
    nb_unary_op uop;
    int log;
    int64_t count, rows, cols;
} nbt_problem;

/* The family's name as written on the command line. */
const char *nbt_family_name(nbt_family f);

/* Parses FAMILY and its descriptor tokens into *p. mem_limit: the most
   bytes the problem's buffers may take (`copies` sets of outputs: diff
   keeps one per ISA). Returns 0, or -1 with a one-line message in err. */
int nbt_parse(const char *family, int ntok, char *const *tok, uint64_t mem_limit, int copies,
              nbt_problem *p, char *err, size_t errlen);

/* Element counts of the problem's inputs (in[0..2], 0 when absent) and
   of its output. */
void nbt_sizes(const nbt_problem *p, int64_t in[3], int64_t *out);

/* The canonical descriptor of *p (FAMILY and tokens, one line), which
   nbt_parse reads back to the same problem. */
void nbt_format(const nbt_problem *p, char *buf, size_t len);

/* Writes the message into err (len bytes) and returns -1: the tool's one
   way of reporting a bad descriptor, option or log line. */
int nbt_fail(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Memory available on this machine in bytes (the tool's limit). */
uint64_t nbt_memory_limit(void);

#endif
