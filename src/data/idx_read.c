/* Reading an IDX file's bytes: the header first, then exactly the data the
 * header promises (through zlib, which reads gzip and plain files alike;
 * without zlib, plain files only). The data buffer grows as bytes arrive,
 * so a header that claims terabytes over a short file fails as "truncated"
 * instead of attempting a terabyte allocation. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/idx_internal.h"
#include "nb_config.h"

#if NB_HAVE_ZLIB
#include <zlib.h>
#endif

typedef struct {
#if NB_HAVE_ZLIB
    gzFile gz;
#else
    FILE *f;
#endif
} reader;

static nb_status reader_open(reader *r, const char *path, const char *fn) {
    errno = 0;
#if NB_HAVE_ZLIB
    r->gz = gzopen(path, "rb");
    if (!r->gz) return nb_error(NB_ERR_ARG, fn, "cannot open '%s': %s", path, errno ? strerror(errno) : "gzopen failed");
#else
    r->f = fopen(path, "rb");
    if (!r->f) return nb_error(NB_ERR_ARG, fn, "cannot open '%s': %s", path, strerror(errno));
#endif
    return NB_OK;
}

static void reader_close(reader *r) {
#if NB_HAVE_ZLIB
    gzclose(r->gz);
#else
    fclose(r->f);
#endif
}

/* Reads up to n bytes; returns how many (fewer only at the end of the
   data), or -1 with the error recorded. */
static int64_t reader_read(reader *r, void *dst, size_t n, const char *path, const char *fn) {
    size_t got = 0;
    while (got < n) {
        size_t want = n - got > (1u << 30) ? (1u << 30) : n - got;
#if NB_HAVE_ZLIB
        int k = gzread(r->gz, (char *)dst + got, (unsigned)want);
        if (k < 0) {
            int code = 0;
            const char *msg = gzerror(r->gz, &code);
            nb_error(NB_ERR_ARG, fn, "'%s' is corrupt (zlib: %s)", path, msg ? msg : "read error");
            return -1;
        }
        if (k == 0) {
            /* A gzip stream cut short reads as a short read plus Z_BUF_ERROR. */
            int code = 0;
            const char *msg = gzerror(r->gz, &code);
            if (code != Z_OK) {
                nb_error(NB_ERR_ARG, fn, "'%s' is truncated or corrupt (zlib: %s)", path, msg ? msg : "?");
                return -1;
            }
            break;
        }
#else
        size_t k = fread((char *)dst + got, 1, want, r->f);
        if (k == 0) {
            if (ferror(r->f)) { nb_error(NB_ERR_ARG, fn, "read error on '%s'", path); return -1; }
            break;
        }
#endif
        got += (size_t)k;
    }
    return (int64_t)got;
}

/* The data part: exactly need bytes, then nothing more. */
static nb_status read_payload(reader *r, size_t need, uint8_t **out, const char *path, const char *fn) {
    size_t cap = need < ((size_t)1 << 20) ? need : ((size_t)1 << 20), have = 0;
    uint8_t *buf = malloc(cap ? cap : 1);
    if (!buf) return nb_error(NB_ERR_OOM, fn, "cannot allocate %zu bytes", cap);
    while (have < need) {
        if (have == cap) {
            size_t ncap = cap > need / 2 ? need : cap * 2;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) { free(buf); return nb_error(NB_ERR_OOM, fn, "cannot allocate %zu bytes", ncap); }
            buf = nb;
            cap = ncap;
        }
        int64_t k = reader_read(r, buf + have, cap - have, path, fn);
        if (k < 0) { free(buf); return NB_ERR_ARG; }
        if (k == 0) {
            free(buf);
            return nb_error(NB_ERR_ARG, fn, "'%s' is truncated: its header promises %zu data bytes, the file has %zu",
                            path, need, have);
        }
        have += (size_t)k;
    }
    uint8_t extra;
    int64_t k = reader_read(r, &extra, 1, path, fn);
    if (k != 0) {
        free(buf);
        if (k < 0) return NB_ERR_ARG;
        return nb_error(NB_ERR_ARG, fn, "'%s' has data beyond the %zu bytes its header promises", path, need);
    }
    *out = buf;
    return NB_OK;
}

nb_status nb_idx_read_file(const char *path, nb_idx_header *h, uint8_t **data, const char *fn) {
    *data = NULL;
    if (!path) return nb_error(NB_ERR_ARG, fn, "path is NULL");
    reader r;
    nb_status s = reader_open(&r, path, fn);
    if (s) return s;
    uint8_t head[4 + 4 * 255];
    int64_t k = reader_read(&r, head, 4, path, fn);
    if (k >= 0 && k < 4) {
        reader_close(&r);
        return nb_error(NB_ERR_ARG, fn, "'%s' is truncated: %lld bytes, shorter than an IDX header", path, (long long)k);
    }
#if !NB_HAVE_ZLIB
    if (k == 4 && head[0] == 0x1f && head[1] == 0x8b) {
        reader_close(&r);
        return nb_error(NB_ERR_UNSUPPORTED, fn, "'%s' is gzip-compressed and this nabla was built without zlib", path);
    }
#endif
    size_t hlen = 4;
    if (k == 4 && head[0] == 0 && head[1] == 0 && head[3] <= NB_MAX_DIMS) {
        hlen += 4 * (size_t)head[3];
        k = reader_read(&r, head + 4, hlen - 4, path, fn);
        if (k >= 0 && (size_t)k < hlen - 4) {
            reader_close(&r);
            return nb_error(NB_ERR_ARG, fn, "'%s' is truncated inside its header (%d sizes announced)", path, head[3]);
        }
    }
    s = k < 0 ? NB_ERR_ARG : nb_idx_parse_header(head, hlen, h, fn);
    if (!s) s = read_payload(&r, h->data_bytes, data, path, fn);
    reader_close(&r);
    return s;
}
