/* Portable N-d iteration helpers for the strided drivers (reductions,
 * copies), shared by every SIMD backend.
 *
 * nb_nd_normalise() turns any layout of a two-operand strided iteration into
 * the fewest, best-ordered dims: size-1 dims dropped, dims where the key
 * operand runs backwards flipped (both operands, so the element mapping is
 * unchanged), dims sorted by the key operand's stride (largest outermost, so
 * the innermost dim is the one with unit stride when there is one), and
 * adjacent dims merged where both operands' strides compose. For reductions
 * a mask marks reduced dims; a reduced and a kept dim never merge.
 *
 * nb_odo walks a subset of dims in row-major order from any linear start, so
 * a thread can take a contiguous range of outer indices.
 */
#ifndef NB_ND_ITER_H
#define NB_ND_ITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nabla/kernels.h>

typedef struct {
    int ndim;
    int64_t shape[NB_MAX_DIMS];
    int64_t stride[2][NB_MAX_DIMS];   /* elements, operand 0 and operand 1 */
    uint64_t mask;                    /* bit i: dim i is reduced */
} nb_nd;

/* The one dim coalescer (in place): drops size-1 dims, then merges each dim
   into the next (inner) one when every one of the nops operands steps
   through the pair as one (stride[k][d] == stride[k][d+1] * shape[d+1]).
   mask (may be NULL): bit d marks dim d; dims with different bits never
   merge, and the mask is renumbered with the dims. The element order is
   unchanged. Returns the new number of dims. */
int nb_nd_coalesce(int ndim, int64_t *shape, int nops, int64_t (*stride)[NB_MAX_DIMS],
                   uint64_t *mask);

/* In place. off[k] receives the element offset to add to operand k's base
   pointer (non-zero when dims were flipped). key: the operand whose strides
   order the dims (0 or 1). Requires every shape[i] >= 1. */
void nb_nd_normalise(nb_nd *v, int key, int64_t off[2]);

/* Row-major walk over n dims with two stride sets. */
typedef struct {
    int n;
    int64_t shape[NB_MAX_DIMS], s0[NB_MAX_DIMS], s1[NB_MAX_DIMS], idx[NB_MAX_DIMS];
    int64_t o0, o1;                   /* current offsets, operand 0 and 1 */
} nb_odo;

void nb_odo_init(nb_odo *o, int n, const int64_t *shape, const int64_t *s0, const int64_t *s1);
/* Positions the walk at row-major linear index `linear`. */
void nb_odo_seek(nb_odo *o, int64_t linear);

static inline void nb_odo_next(nb_odo *o) {
    for (int d = o->n - 1; d >= 0; d--) {
        o->o0 += o->s0[d];
        o->o1 += o->s1[d];
        if (++o->idx[d] < o->shape[d]) return;
        o->o0 -= o->s0[d] * o->shape[d];
        o->o1 -= o->s1[d] * o->shape[d];
        o->idx[d] = 0;
    }
}

/* A view (every shape[i] >= 1, extent already checked for overflow) is dense
   when the element offsets it touches are exactly every offset between its
   lowest and highest one (no holes), whether or not two of its elements
   share an offset (strides {1, 1} on 2 x 2 touch 0 1 1 2: dense). Stride-0
   dims add no offsets. */
bool nb_view_dense(int ndim, const int64_t *shape, const int64_t *strides);

/* A non-empty strided view: element offsets [lo, hi] of base, dense or not. */
typedef struct {
    const void *base;
    int64_t lo, hi;
    bool dense;
} nb_view_span;

/* Provable overlap of two non-empty views of elem_size-byte elements: their
   byte ranges intersect AND (either view is dense, or an element both are
   known to have shares a byte: the element at index 0 of each, or the
   lowest or highest element of each). Two views with holes whose ranges
   interleave otherwise (the even and the odd elements of one buffer) are
   "too hard to tell" and allowed, as PyTorch does. */
bool nb_views_provably_overlap(const nb_view_span *a, const nb_view_span *b, size_t elem_size);

#endif
