/* The command line of `aelab export` (parameters as safetensors / .npy for PyTorch and NumPy) and
 * `aelab encode` (codes of a data set as .npy): option parsing; the work is ae_run_export/encode. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_builtins.h"
#include "ae_dnnl.h"
#include "ae_export.h"
#include "ae_registry.h"
#include "aelab_cli.h"

static const char usage_export[] =
    "usage: aelab export RUN_DIR [options]\n"
    "writes every parameter of a trained run (its checkpoint.aelab) under PyTorch's names and shapes\n"
    "(encoder.0.weight [out, in] as nn.Linear, conv [out, in, kh, kw] as nn.Conv2d), with the run's\n"
    "resolved config (config.yaml beside, and in the safetensors __metadata__ as \"config\")\n"
    "\n"
    "options:\n"
    "  --format F        safetensors (default: one file) or npy (a folder: NAME.npy per tensor)\n"
    "  --out PATH        default RUN_DIR/model.safetensors or RUN_DIR/weights_npy\n"
    "  --data-dir DIR    where the run's data files are looked up first (then $AELAB_DATA)\n"
    "  --help\n";

static const char usage_encode[] =
    "usage: aelab encode RUN_DIR [options]\n"
    "encodes a data set with a trained run's encoder (codes = mu for a gaussian latent) into a float32\n"
    ".npy of shape (N, code_size): by default the run's test set (its training set when it has none)\n"
    "\n"
    "options:\n"
    "  --out FILE.npy    default RUN_DIR/codes.npy\n"
    "  --set data.KEY=V  read another data set the config can read, e.g. --set data.name=mnist\n"
    "                    (repeatable; data.* keys only; scaling is fitted as the config says)\n"
    "  --data-dir DIR    where data files are looked up first (then $AELAB_DATA)\n"
    "  --help\n";

static const char *const export_valued[] = {"--format", "--out", "--data-dir", NULL};
static const char *const encode_valued[] = {"--out", "--set", "--data-dir", NULL};

static int fail(int code, const char *msg)
{
    fprintf(stderr, "aelab: error: %s\n", msg);
    return code;
}

static int valued(const char *a, const char *const *v)
{
    for (; *v; v++)
        if (!strcmp(a, *v)) return 1;
    return 0;
}

/* Parses RUN_DIR and the options of cmd into dir, *format, *out, o (sets into sets). */
static int parse(int argc, char **argv, const char *const *vals, const char **dir, const char **format,
                 const char **out, ae_run_opts *o, const char **sets)
{
    char m[256];
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || !a[1]) {
            if (*dir) {
                snprintf(m, sizeof m, "only one run folder per command (see aelab %s --help)", argv[1]);
                return fail(AE_EINPUT, m);
            }
            *dir = a;
            continue;
        }
        if (!valued(a, vals)) {
            snprintf(m, sizeof m, "unknown or incomplete option '%.60s%s' (see aelab %s --help)", a,
                     strlen(a) > 60 ? "…" : "", argv[1]);
            return fail(AE_EINPUT, m);
        }
        if (i + 1 >= argc) {
            snprintf(m, sizeof m, "%s needs a value (see aelab %s --help)", a, argv[1]);
            return fail(AE_EINPUT, m);
        }
        const char *v = argv[++i];
        if (!strcmp(a, "--format")) *format = v;
        else if (!strcmp(a, "--out")) *out = v;
        else if (!strcmp(a, "--data-dir")) o->data_dir = v;
        else sets[o->nsets++] = v;
    }
    if (!*dir) {
        snprintf(m, sizeof m, "missing the run folder (aelab %s RUN_DIR; see aelab %s --help)", argv[1], argv[1]);
        return fail(AE_EINPUT, m);
    }
    return AE_OK;
}

int aelab_export_command(int argc, char **argv)
{
    int enc = !strcmp(argv[1], "encode");
    const char *const *vals = enc ? encode_valued : export_valued;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return fputs(enc ? usage_encode : usage_export, stdout), 0;
        if (valued(argv[i], vals)) i++;
    }
    const char *dir = NULL, *format = NULL, *out = NULL;
    ae_run_opts o;
    memset(&o, 0, sizeof o);
    o.progress = 0;
    const char **sets = calloc((size_t)argc, sizeof *sets);
    if (!sets) return fail(AE_EINTERNAL, "out of memory");
    o.sets = sets;
    int rc = parse(argc, argv, vals, &dir, &format, &out, &o, sets);
    if (!rc && !(o.registry = ae_registry_new())) rc = fail(AE_EINTERNAL, "out of memory");
    if (!rc && ae_register_builtins(o.registry)) rc = fail(AE_EINTERNAL, "out of memory");
    if (!rc) {
        ae_err err = {0};
        rc = enc ? ae_run_encode(dir, out, &o, &err) : ae_run_export(dir, format, out, &o, &err);
        if (rc) fail(rc, err.msg);
        ae_dnnl_shutdown();
    }
    ae_registry_free(o.registry);
    free(sets);
    return rc;
}
