/* Saving and loading a module's state (parameters and buffers, by their
 * state_dict names) to the small binary format of docs/state-format.md:
 *
 *   "nablasd\0"  u32 version (1)  u32 count
 *   count x { u32 name_len, name, u32 dtype, u32 ndim, i64 shape[ndim],
 *             data (numel x element size) }
 *   u32 CRC-32 of every byte before it
 *
 * all little-endian. Loading reads at most the size the model's own state
 * would take plus one byte (so a hostile file cannot make it allocate
 * more), validates every entry against the model (names, dtypes, shapes,
 * lengths, checksum) and stages the values in new tensors before it writes
 * the first parameter: on any error the model is unchanged. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/tensor_internal.h"
#include <nabla/nn.h>

static const char MAGIC[8] = {'n', 'a', 'b', 'l', 'a', 's', 'd', '\0'};
#define STATE_VERSION 1u

/* ---- CRC-32 (IEEE 802.3, reflected, as zlib's crc32) ---- */

typedef struct { uint32_t table[256]; uint32_t crc; } crc32_state;

static void crc_init(crc32_state *c) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t r = i;
        for (int k = 0; k < 8; k++) r = r & 1 ? (r >> 1) ^ 0xEDB88320u : r >> 1;
        c->table[i] = r;
    }
    c->crc = 0xFFFFFFFFu;
}
static void crc_add(crc32_state *c, const void *data, size_t n) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) c->crc = c->table[(c->crc ^ p[i]) & 0xFF] ^ (c->crc >> 8);
}
static uint32_t crc_value(const crc32_state *c) { return c->crc ^ 0xFFFFFFFFu; }

static bool host_is_little_endian(void) {
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}
/* Little-endian bytes <-> host order, in place, for elements of size es. */
static void to_from_le(void *data, size_t n_elems, size_t es) {
    if (host_is_little_endian()) return;
    unsigned char *p = data;
    for (size_t i = 0; i < n_elems; i++, p += es)
        for (size_t a = 0, b = es - 1; a < b; a++, b--) { unsigned char t = p[a]; p[a] = p[b]; p[b] = t; }
}

/* ---- the model's side ---- */

/* The model's state_dict (malloc'd, *n entries) or NULL + error. */
static nb_named_tensor *model_state(const char *fn, const nb_module *m, int *n) {
    if (!m) { nb_error(NB_ERR_ARG, fn, "m is NULL"); return NULL; }
    const int count = nb_module_state_dict(m, NULL, 0);
    if (count < 0) { nb_error_context(fn); return NULL; }
    nb_named_tensor *sd = malloc(sizeof *sd * (size_t)(count ? count : 1));
    if (!sd) { nb_error(NB_ERR_OOM, fn, "cannot allocate"); return NULL; }
    if (nb_module_state_dict(m, sd, count) != count) { free(sd); nb_error_context(fn); return NULL; }
    *n = count;
    return sd;
}

static size_t entry_bytes(const nb_named_tensor *e) {
    const nb_tensor *t = e->tensor;
    return 4 + strlen(e->name) + 4 + 4 + 8 * (size_t)t->ndim + (size_t)nb_tensor_numel(t) * nb_esize(t->dtype);
}

/* ---- save ---- */

typedef struct { FILE *f; crc32_state crc; bool ok; } writer;

static void put(writer *w, const void *p, size_t n) {
    if (!w->ok || n == 0) return;
    crc_add(&w->crc, p, n);
    w->ok = fwrite(p, 1, n, w->f) == n;
}
static void put_u32(writer *w, uint32_t v) {
    const unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
    put(w, b, 4);
}
static void put_i64(writer *w, int64_t v) {
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)v >> (8 * i));
    put(w, b, 8);
}

/* One entry; its data through a dense copy when the tensor is not dense. */
static nb_status put_entry(const char *fn, writer *w, const nb_named_tensor *e) {
    nb_tensor *t = e->tensor, *c = nb_contiguous(t);
    if (!c) return nb_error_context(fn);
    const size_t es = nb_esize(t->dtype), n = (size_t)nb_tensor_numel(t);
    put_u32(w, (uint32_t)strlen(e->name));
    put(w, e->name, strlen(e->name));
    put_u32(w, (uint32_t)t->dtype);
    put_u32(w, (uint32_t)t->ndim);
    for (int d = 0; d < t->ndim; d++) put_i64(w, t->shape[d]);
    if (host_is_little_endian()) {
        put(w, nb_ptr(c), n * es);
    } else {   /* one element at a time, reversed */
        for (size_t i = 0; i < n; i++) {
            unsigned char b[8];
            memcpy(b, nb_ptr(c) + i * es, es);
            to_from_le(b, 1, es);
            put(w, b, es);
        }
    }
    nb_tensor_release(c);
    return NB_OK;
}

nb_status nb_module_save(const nb_module *m, const char *path) {
    static const char fn[] = "nb_module_save";
    if (!path) return nb_error(NB_ERR_ARG, fn, "path is NULL");
    int n = 0;
    nb_named_tensor *sd = model_state(fn, m, &n);
    if (!sd) return nb_last_status();
    /* Written next to the target and renamed over it at the end, so a
       failure never leaves a half-written file under the path. */
    const size_t plen = strlen(path);
    char *tmp = malloc(plen + 5);
    if (!tmp) { free(sd); return nb_error(NB_ERR_OOM, fn, "cannot allocate"); }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    writer w = {fopen(tmp, "wb"), {{0}, 0}, true};
    if (!w.f) {
        const int err = errno;
        free(sd); free(tmp);
        return nb_error(NB_ERR_ARG, fn, "cannot create \"%s.tmp\": %s", path, strerror(err));
    }
    crc_init(&w.crc);
    put(&w, MAGIC, sizeof MAGIC);
    put_u32(&w, STATE_VERSION);
    put_u32(&w, (uint32_t)n);
    nb_status s = NB_OK;
    for (int i = 0; i < n && !s; i++) s = put_entry(fn, &w, &sd[i]);
    put_u32(&w, crc_value(&w.crc));
    int err = errno;
    const bool closed = fclose(w.f) == 0;
    if (!closed) err = errno;
    if (!s && (!w.ok || !closed)) s = nb_error(NB_ERR_ARG, fn, "cannot write \"%s.tmp\": %s", path, strerror(err));
    if (!s && rename(tmp, path) != 0)
        s = nb_error(NB_ERR_ARG, fn, "cannot rename \"%s.tmp\" to \"%s\": %s", path, path, strerror(errno));
    if (s) remove(tmp);
    free(sd);
    free(tmp);
    return s;
}

/* ---- load ---- */

/* clipped: the file is longer than the model's state could be, and only
   its first cap + 1 bytes were read. */
typedef struct { const unsigned char *p; size_t n, at; bool clipped; } reader;

static bool take(reader *r, size_t k, const unsigned char **out) {
    if (r->n - r->at < k) return false;
    *out = r->p + r->at;
    r->at += k;
    return true;
}
static bool get_u32(reader *r, uint32_t *v) {
    const unsigned char *b;
    if (!take(r, 4, &b)) return false;
    *v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return true;
}
static bool get_i64(reader *r, int64_t *v) {
    const unsigned char *b;
    if (!take(r, 8, &b)) return false;
    uint64_t u = 0;
    for (int i = 7; i >= 0; i--) u = u << 8 | b[i];
    *v = (int64_t)u;
    return true;
}

#define TRUNCATED(what)                                                                                    \
    (r->clipped ? nb_error(NB_ERR_ARG, fn, "\"%s\" does not match the model: it is longer than the model's state", path) \
                : nb_error(NB_ERR_ARG, fn, "\"%s\" is truncated: it ends inside %s", path, what))

/* Reads entry i of the file, checks it against the model and stages its
   values in staged[j] (j: the model entry of that name). */
static nb_status read_entry(const char *fn, const char *path, reader *r, int i, const nb_named_tensor *sd, int n,
                            nb_tensor **staged) {
    char b1[96], b2[96];
    uint32_t len, dtype, ndim;
    const unsigned char *name, *data;
    if (!get_u32(r, &len)) return TRUNCATED("an entry's name length");
    if (len == 0 || len >= NB_NAME_MAX)
        return nb_error(NB_ERR_ARG, fn, "\"%s\" is corrupt: entry %d has a name of %u bytes", path, i, len);
    if (!take(r, len, &name)) return TRUNCATED("an entry's name");
    int j = 0;
    while (j < n && (strlen(sd[j].name) != len || memcmp(sd[j].name, name, len) != 0)) j++;
    if (j == n) return nb_error(NB_ERR_ARG, fn, "\"%s\": entry %d \"%.*s\" is not in the model", path, i, (int)(len > 80 ? 80 : len), (const char *)name);
    if (staged[j]) return nb_error(NB_ERR_ARG, fn, "\"%s\" is corrupt: \"%s\" appears twice", path, sd[j].name);
    const nb_tensor *t = sd[j].tensor;
    if (!get_u32(r, &dtype) || !get_u32(r, &ndim)) return TRUNCATED("an entry's dtype and ndim");
    if (dtype != (uint32_t)t->dtype)
        return nb_error(NB_ERR_DTYPE, fn, "\"%s\": \"%s\" is %s in the file but %s in the model", path, sd[j].name,
                        dtype <= NB_INT64 ? nb_dtype_name((nb_dtype)dtype) : "an unknown dtype", nb_dtype_name(t->dtype));
    if (ndim > NB_MAX_DIMS) return nb_error(NB_ERR_ARG, fn, "\"%s\" is corrupt: \"%s\" has %u dims", path, sd[j].name, ndim);
    int64_t shape[NB_MAX_DIMS];
    for (uint32_t d = 0; d < ndim; d++)
        if (!get_i64(r, &shape[d])) return TRUNCATED("an entry's shape");
    if ((int)ndim != t->ndim || memcmp(shape, t->shape, sizeof(int64_t) * ndim) != 0)
        return nb_error(NB_ERR_SHAPE, fn, "\"%s\": \"%s\" has shape %s in the file but %s in the model", path, sd[j].name,
                        nb__shape_str(b1, sizeof b1, (int)ndim, shape), nb__shape_str(b2, sizeof b2, t->ndim, t->shape));
    const size_t bytes = (size_t)nb_tensor_numel(t) * nb_esize(t->dtype);   /* the model's shape: no overflow */
    if (!take(r, bytes, &data)) return TRUNCATED("an entry's data");
    nb_tensor *c = nb__empty(fn, t->ndim, t->shape, t->dtype);
    if (!c) return nb_last_status();
    if (bytes) memcpy(nb_ptr(c), data, bytes);
    to_from_le(nb_ptr(c), (size_t)nb_tensor_numel(c), nb_esize(c->dtype));
    staged[j] = c;
    return NB_OK;
}

/* Checks the whole buffer against the model and stages every value. */
static nb_status parse(const char *fn, const char *path, const unsigned char *buf, size_t size, size_t cap,
                       const nb_named_tensor *sd, int n, nb_tensor **staged) {
    reader rd = {buf, size, 0, size > cap}, *r = &rd;
    const unsigned char *magic;
    uint32_t version, count, crc_file;
    if (!take(r, sizeof MAGIC, &magic) || memcmp(magic, MAGIC, sizeof MAGIC) != 0)
        return nb_error(NB_ERR_ARG, fn, "\"%s\" is not a nabla state file (no \"nablasd\" magic)", path);
    if (!get_u32(r, &version)) return TRUNCATED("the header");
    if (version != STATE_VERSION)
        return nb_error(NB_ERR_UNSUPPORTED, fn, "\"%s\" has format version %u; this nabla reads version %u", path, version, STATE_VERSION);
    if (!get_u32(r, &count)) return TRUNCATED("the header");
    if (count != (uint32_t)n)
        return nb_error(NB_ERR_ARG, fn, "\"%s\" holds %u entries, the model's state has %d", path, count, n);
    for (int i = 0; i < n; i++) {
        const nb_status s = read_entry(fn, path, r, i, sd, n, staged);
        if (s) return s;
    }
    const size_t body = r->at;
    if (!get_u32(r, &crc_file)) return TRUNCATED("the checksum");
    if (r->at != size)
        return nb_error(NB_ERR_ARG, fn, "\"%s\" is longer than its entries and checksum (%s%zu bytes more)", path,
                        r->clipped ? "at least " : "", size - r->at);
    crc32_state c;
    crc_init(&c);
    crc_add(&c, buf, body);
    if (crc_value(&c) != crc_file)
        return nb_error(NB_ERR_ARG, fn, "\"%s\" is corrupt: its checksum does not match its contents", path);
    return NB_OK;
}

/* The file's first cap + 1 bytes (more cannot be a state of this model). */
static unsigned char *slurp(const char *fn, const char *path, size_t cap, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) { nb_error(NB_ERR_ARG, fn, "cannot open \"%s\": %s", path, strerror(errno)); return NULL; }
    unsigned char *buf = malloc(cap + 1);
    if (!buf) { fclose(f); nb_error(NB_ERR_OOM, fn, "cannot allocate %zu bytes", cap + 1); return NULL; }
    *size = fread(buf, 1, cap + 1, f);
    const bool failed = ferror(f) != 0;
    fclose(f);
    if (failed) { free(buf); nb_error(NB_ERR_ARG, fn, "cannot read \"%s\"", path); return NULL; }
    return buf;
}

nb_status nb_module_load(nb_module *m, const char *path) {
    static const char fn[] = "nb_module_load";
    if (!path) return nb_error(NB_ERR_ARG, fn, "path is NULL");
    int n = 0;
    nb_named_tensor *sd = model_state(fn, m, &n);
    if (!sd) return nb_last_status();
    size_t cap = sizeof MAGIC + 4 + 4 + 4, size = 0;
    for (int i = 0; i < n; i++) cap += entry_bytes(&sd[i]);
    nb_tensor **staged = calloc((size_t)(n ? n : 1), sizeof *staged);
    unsigned char *buf = staged ? slurp(fn, path, cap, &size) : NULL;
    nb_status s = !staged ? nb_error(NB_ERR_OOM, fn, "cannot allocate") : !buf ? nb_last_status() : NB_OK;
    if (!s) s = parse(fn, path, buf, size, cap, sd, n, staged);
    nb_no_grad_enter();   /* parameters are leaves that require grad */
    for (int i = 0; i < n && !s; i++) s = nb__check_writable(fn, sd[i].tensor);
    for (int i = 0; i < n && !s; i++) {   /* commit: same shapes and dtypes, nothing allocates */
        nb__copy_into(fn, sd[i].tensor, staged[i]);
        nb__bump_version(sd[i].tensor);
    }
    nb_no_grad_exit();
    for (int i = 0; staged && i < n; i++) nb_tensor_release(staged[i]);
    free(staged);
    free(buf);
    free(sd);
    return s;
}
