/* nabla — data sets: IDX files (MNIST, Fashion-MNIST) and a batch iterator
 * with seeded shuffling (torch.utils.data.DataLoader's role).
 *
 * IDX (the MNIST format): two zero bytes, a dtype byte (0x08 uint8, 0x09
 * int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64), a byte ndim,
 * then ndim big-endian uint32 sizes, then the elements row-major, big-endian.
 * Files may be gzip-compressed (read through zlib) or plain. The loaders
 * check the header and that the data holds exactly the elements the sizes
 * promise, no more and no fewer: a bad magic, an unknown dtype, ndim 0 or
 * above 8, sizes whose product overflows, a truncated, corrupt or too long
 * file are each an error naming the function and the problem (nb_last_error)
 * and return NULL; no partial tensor is ever returned.
 */
#ifndef NABLA_DATA_H
#define NABLA_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nabla/export.h>
#include <nabla/tensor.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Fashion-MNIST's training-set pixel mean and standard deviation, after
   scaling to [0, 1] (computed over the 60,000 training images; the values
   every Fashion-MNIST tutorial uses). MNIST's are 0.1307 / 0.3081. */
#define NB_FASHION_MNIST_MEAN 0.2860
#define NB_FASHION_MNIST_STD  0.3530

/* Reads an IDX file (gzip or plain) into a new tensor of the file's shape,
   each element converted to dtype (NB_FLOAT32, NB_FLOAT64 or NB_INT64; a
   float element converted to NB_INT64 is an error). */
NB_API nb_tensor *nb_idx_load(const char *path, nb_dtype dtype);
/* The same from bytes already in memory (the file's content, uncompressed). */
NB_API nb_tensor *nb_idx_parse(const void *bytes, size_t len, nb_dtype dtype);

/* An image file (uint8, [N, H, W]) as float32 [N, 1, H, W] NCHW:
   x = (pixel / 255 - mean) / std. std must be finite and > 0. Use
   NB_FASHION_MNIST_MEAN / NB_FASHION_MNIST_STD, or 0 and 1 for [0, 1]. */
NB_API nb_tensor *nb_idx_load_images(const char *path, double mean, double std);
/* A label file (uint8, [N]) as int64 [N]. */
NB_API nb_tensor *nb_idx_load_labels(const char *path);

/* ---- batches -------------------------------------------------------------------- */

typedef struct nb_batch_iter nb_batch_iter;
/* Batches of rows (the first dimension) of x and y, which must have the same
   first size and be contiguous (a narrow of dim 0 is fine); both are
   retained. shuffle: each epoch visits the rows in a new permutation that
   depends only on seed and the epoch number (reproducible, also after
   nb_batch_iter_set_epoch); otherwise in order. drop_last: a last batch
   smaller than batch_size is skipped, else kept. */
NB_API nb_batch_iter *nb_batch_iter_new(nb_tensor *x, nb_tensor *y, int64_t batch_size, bool shuffle,
                                        uint64_t seed, bool drop_last);
/* The next batch as two new contiguous tensors ([B, ...] copies of x's and
   y's rows). At the end of an epoch returns NB_OK with *xb = *yb = NULL
   and moves to the next epoch (nb_batch_iter_epoch and _order then
   describe it). On an error *xb and *yb are NULL and the iterator has not
   moved. */
NB_API nb_status nb_batch_iter_next(nb_batch_iter *it, nb_tensor **xb, nb_tensor **yb);
/* Restarts at the beginning of epoch (0-based) with its permutation. */
NB_API nb_status nb_batch_iter_set_epoch(nb_batch_iter *it, int64_t epoch);
/* The epoch the next batch belongs to (-1 + error on NULL). */
NB_API int64_t   nb_batch_iter_epoch(const nb_batch_iter *it);
/* Batches per epoch (after drop_last). */
NB_API int64_t   nb_batch_iter_num_batches(const nb_batch_iter *it);
/* The current epoch's row order (borrowed, nb_batch_iter_num_rows entries,
   valid until the epoch changes): batch b is rows order[b*B .. b*B+B-1]. */
NB_API const int64_t *nb_batch_iter_order(const nb_batch_iter *it);
NB_API int64_t   nb_batch_iter_num_rows(const nb_batch_iter *it);
NB_API void      nb_batch_iter_free(nb_batch_iter *it);   /* NULL is a no-op */

#ifdef __cplusplus
}
#endif

#endif /* NABLA_DATA_H */
