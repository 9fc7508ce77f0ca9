/* IDX loader (MNIST / Fashion-MNIST layout): unsigned-byte image and label files, plain or .gz
 * (zlib reads both), and the lookup of named datasets on the data search path. */
#include "ae_data.h"
#include "data_internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define IDX_LABELS 0x00000801u
#define IDX_IMAGES 0x00000803u

typedef struct idx_file {
    const char *path;
    gzFile f;
    size_t count;   /* first dimension */
    size_t h, w;    /* images only */
} idx_file;

/* Reads up to len bytes; returns the number read, or -1 on a read/decompression error. */
static long long read_bytes(idx_file *x, unsigned char *buf, size_t len, ae_err *err)
{
    size_t got = 0;
    while (got < len) {
        unsigned chunk = len - got > (1u << 30) ? (1u << 30) : (unsigned)(len - got);
        int n = gzread(x->f, buf + got, chunk);
        if (n < 0) {
            int errnum;
            const char *msg = gzerror(x->f, &errnum);
            size_t plen = strlen(x->path); /* zlib's message starts with the path: keep it once */
            if (!strncmp(msg, x->path, plen) && !strncmp(msg + plen, ": ", 2)) msg += plen + 2;
            ae_errf(err, AE_EINPUT, "%s: read error: %s", x->path,
                    errnum == Z_ERRNO ? strerror(errno) : msg);
            return -1;
        }
        if (n == 0) break;
        got += (size_t)n;
    }
    return (long long)got;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Opens an IDX file and checks its header; `magic` is IDX_IMAGES or IDX_LABELS. */
static int idx_open(idx_file *x, const char *path, uint32_t magic, ae_err *err)
{
    const char *kind = magic == IDX_IMAGES ? "image" : "label";
    memset(x, 0, sizeof *x);
    x->path = path;
    errno = 0;
    if (!(x->f = gzopen(path, "rb")))
        return ae_errf(err, AE_EINPUT, "%s: cannot open: %s", path,
                       errno ? strerror(errno) : "out of memory");
    gzbuffer(x->f, 1u << 18);
    unsigned char hdr[16];
    size_t hlen = magic == IDX_IMAGES ? 16 : 8;
    long long got = read_bytes(x, hdr, 4, err);
    if (got < 0) return err->code;
    if (got < 4) return ae_errf(err, AE_EINPUT, "%s: not an IDX %s file (too short)", path, kind);
    uint32_t m = be32(hdr);
    if (m >> 16 == 0 && (m & 0xff) == (magic & 0xff) && ((m >> 8) & 0xff) != 0x08)
        return ae_errf(err, AE_EINPUT, "%s: unsupported IDX data type 0x%02x (only unsigned byte "
                       "0x08 is supported)", path, (unsigned)(m >> 8) & 0xff);
    if (m != magic)
        return ae_errf(err, AE_EINPUT, "%s: not an IDX %s file (magic 0x%08x, expected 0x%08x)",
                       path, kind, (unsigned)m, (unsigned)magic);
    got = read_bytes(x, hdr + 4, hlen - 4, err);
    if (got < 0) return err->code;
    if ((size_t)got < hlen - 4)
        return ae_errf(err, AE_EINPUT, "%s: truncated: IDX header has %lld of %zu bytes", path,
                       got + 4, hlen);
    x->count = be32(hdr + 4);
    if (magic == IDX_IMAGES) {
        x->h = be32(hdr + 8);
        x->w = be32(hdr + 12);
        if (x->h == 0 || x->w == 0 || x->h > 65536 || x->w > 65536 || x->h * x->w > (1u << 26))
            return ae_errf(err, AE_EINPUT, "%s: bad image size %zu x %zu", path, x->h, x->w);
    }
    if (x->count == 0) return ae_errf(err, AE_EINPUT, "%s: the file holds no %ss", path, kind);
    return AE_OK;
}

/* Reads exactly len bytes of payload into a new buffer (*out) that grows as the data arrives, so a
 * header claiming more than the file holds fails as "truncated" without a huge allocation first;
 * when `all`, also checks that nothing follows. */
static int idx_payload(idx_file *x, size_t len, int all, const char *what, unsigned char **out,
                       ae_err *err)
{
    size_t cap = len < (1u << 20) ? len : (1u << 20), got = 0;
    unsigned char *buf = malloc(cap ? cap : 1);
    *out = NULL;
    while (buf && got < len) {
        if (got == cap) {
            size_t nc = cap > len / 2 ? len : 2 * cap;
            unsigned char *nb = realloc(buf, nc);
            if (!nb) break;
            buf = nb;
            cap = nc;
        }
        long long n = read_bytes(x, buf + got, cap - got, err);
        if (n < 0) {
            free(buf);
            return err->code;
        }
        got += (size_t)n;
        if (got < cap) break; /* read_bytes stops short only at the end of the file */
    }
    if (!buf || (got == cap && got < len)) {
        free(buf);
        return ae_errf(err, AE_EINTERNAL, "%s: out of memory for %zu bytes of %s", x->path, len, what);
    }
    if (got < len) {
        free(buf);
        return ae_errf(err, AE_EINPUT, "%s: truncated: expected %zu bytes of %s, got %zu", x->path,
                       len, what, got);
    }
    unsigned char extra;
    long long more = all ? read_bytes(x, &extra, 1, err) : 0;
    if (more != 0) {
        free(buf);
        return more < 0 ? err->code
                        : ae_errf(err, AE_EINPUT, "%s: trailing bytes after %zu %s bytes", x->path,
                                  len, what);
    }
    *out = buf;
    return AE_OK;
}

int ae_idx_load(const char *images_path, const char *labels_path, size_t limit, ae_dataset *out,
                ae_err *err)
{
    ae_err local = {0};
    if (!err) err = &local;
    memset(out, 0, sizeof *out);
    idx_file im = {0}, lb = {0};
    unsigned char *raw = NULL;
    int rc = idx_open(&im, images_path, IDX_IMAGES, err);
    if (!rc && labels_path) rc = idx_open(&lb, labels_path, IDX_LABELS, err);
    if (!rc && labels_path && lb.count != im.count)
        rc = ae_errf(err, AE_EINPUT, "%s has %zu images but %s has %zu labels", images_path,
                     im.count, labels_path, lb.count);
    if (rc) goto done;
    size_t n = limit && limit < im.count ? limit : im.count, d = im.h * im.w;
    int all = n == im.count; /* with a limit, the pixels after the first n images are not read */
    if (n > SIZE_MAX / sizeof(float) / d) {
        rc = ae_errf(err, AE_EINPUT, "%s: too many images (%zu)", images_path, n);
        goto done;
    }
    if ((rc = idx_payload(&im, n * d, all, "pixels", &raw, err))) goto done;
    out->x = malloc(n * d * sizeof *out->x);
    if (labels_path) out->label = malloc(n * sizeof *out->label);
    if (!out->x || (labels_path && !out->label)) {
        rc = ae_errf(err, AE_EINTERNAL, "out of memory for %zu images", n);
        goto done;
    }
    for (size_t i = 0; i < n * d; i++) out->x[i] = (float)raw[i] / 255.0f; /* as torchvision */
    if (labels_path) { /* labels are small: always read and check them all, so n_classes does
                          not depend on `limit` */
        free(raw);
        if ((rc = idx_payload(&lb, lb.count, 1, "labels", &raw, err))) goto done;
        int max = 0;
        for (size_t i = 0; i < lb.count; i++) {
            if (i < n) out->label[i] = raw[i];
            if (raw[i] > max) max = raw[i];
        }
        out->n_classes = max + 1;
    }
    out->n = n;
    out->d = d;
    out->c = 1;
    out->h = (int)im.h;
    out->w = (int)im.w;
done:
    if (im.f) gzclose(im.f);
    if (lb.f) gzclose(lb.f);
    free(raw);
    if (rc) ae_dataset_free(out);
    return rc;
}

/* Finds "<name>/<file>[.gz]" on the search path; AE_EINPUT listing the places tried. */
static int find_idx(const char *name, const char *file, const char *data_dir, char *out,
                    size_t outlen, ae_err *err)
{
    char plain[256], gz[256], tried[640] = "";
    snprintf(plain, sizeof plain, "%s/%s", name, file);
    snprintf(gz, sizeof gz, "%s/%s.gz", name, file);
    const char *rels[] = {plain, gz};
    if (data_search(rels, 2, data_dir, "/usr/share/datasets", out, outlen, tried, sizeof tried))
        return AE_OK;
    return ae_errf(err, AE_EINPUT,
                   "dataset '%s': %s[.gz] not found; tried: %s; put the files in one of these "
                   "places, pass --data-dir DIR, or set AELAB_DATA (colon-separated directories)",
                   name, file, tried);
}

/* One split of a named dataset; pimg gets the image file's path. */
/* Fashion-MNIST's label values 0..9 (Xiao et al. 2017). */
static const char *const fashion_classes[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

static int load_split(const char *name, const char *split, const char *data_dir, size_t limit,
                      ae_dataset *out, char *pimg, size_t plen, ae_err *err)
{
    memset(out, 0, sizeof *out);
    if (!name || (strcmp(name, "fashion-mnist") != 0 && strcmp(name, "mnist") != 0))
        return ae_errf(err, AE_EINPUT, "unknown IDX dataset '%s' (known: fashion-mnist, mnist)",
                       name ? name : "(null)");
    const char *prefix = NULL;
    if (split && strcmp(split, "train") == 0) prefix = "train";
    if (split && strcmp(split, "test") == 0) prefix = "t10k";
    if (!prefix)
        return ae_errf(err, AE_EINPUT, "dataset '%s': unknown split '%s' (expected train or test)",
                       name, split ? split : "(null)");
    char fimg[64], flab[64], plab[4096];
    snprintf(fimg, sizeof fimg, "%s-images-idx3-ubyte", prefix);
    snprintf(flab, sizeof flab, "%s-labels-idx1-ubyte", prefix);
    int rc = find_idx(name, fimg, data_dir, pimg, plen, err);
    if (!rc) rc = find_idx(name, flab, data_dir, plab, sizeof plab, err);
    if (!rc) rc = ae_idx_load(pimg, plab, limit, out, err);
    if (!rc && !strcmp(name, "fashion-mnist")) {
        out->class_names = fashion_classes;
        out->n_class_names = 10;
    }
    return rc;
}

int ae_idx_load_named(const char *name, const char *split, const char *data_dir, size_t limit,
                      ae_dataset *out, ae_err *err)
{
    char pimg[4096];
    return load_split(name, split, data_dir, limit, out, pimg, sizeof pimg, err);
}

int ae_idx_load_named_splits(const char *name, const char *data_dir, size_t limit,
                             size_t test_limit, ae_dataset *train, ae_dataset *test, ae_err *err)
{
    char ptr[4096], pte[4096];
    memset(test, 0, sizeof *test);
    int rc = load_split(name, "train", data_dir, limit, train, ptr, sizeof ptr, err);
    if (!rc) rc = load_split(name, "test", data_dir, test_limit, test, pte, sizeof pte, err);
    if (!rc && (train->c != test->c || train->h != test->h || train->w != test->w))
        rc = ae_errf(err, AE_EINPUT, "dataset '%s': the training images %s are %dx%dx%d but the test "
                     "images %s are %dx%dx%d (channels x height x width): both splits must have the "
                     "same shape", name, ptr, train->c, train->h, train->w, pte, test->c, test->h,
                     test->w);
    if (rc) {
        ae_dataset_free(train);
        ae_dataset_free(test);
    }
    return rc;
}
