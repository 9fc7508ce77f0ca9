/* The aelab command line: run / check a YAML config, list what is registered. Exit codes:
 * 0 ok, 2 bad config/data/usage, 3 training diverged, 4 I/O error, 130 interrupted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ae_dnnl.h"
#include "ae_registry.h"
#include "ae_report.h"
#include "ae_run.h"
#include "ae_vae.h"

static const char usage[] =
    "usage: aelab COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  run FILE.yaml     train (and evaluate) the model a config describes, or every run of an\n"
    "                    experiment file (runs x grid x seeds) and print its results table\n"
    "  check FILE.yaml   validate a config and print it resolved (defaults filled), or list the\n"
    "                    runs an experiment expands to; trains nothing\n"
    "  report EXP.yaml   gather an experiment's finished runs into results.csv/.md and plots\n"
    "  sample RUN_DIR    decode prior samples of a trained VAE into a PNG grid (--n N, --out FILE)\n"
    "  list              print the registered variants, layers and regularizers\n"
    "\n"
    "options (run, check):\n"
    "  --out DIR         output folder (default: outputs.dir, i.e. runs/<name>)\n"
    "  --set KEY=VALUE   override a config value by dotted key, e.g. --set train.epochs=5\n"
    "                    or --set 'regularizers=[{type: l1, weight: 1e-4}]' (repeatable)\n"
    "  --data-dir DIR    where data files are looked up first (then $AELAB_DATA, colon-separated)\n"
    "  --threads N       threads for oneDNN and aelab (default: the config's, 0 = all cores)\n"
    "  --quiet           no progress line\n"
    "  --jobs N          experiments: N runs at once, threads split between them\n"
    "  --shard I/N       experiments: run the I-th of N deterministic slices (array jobs)\n"
    "  --help, --version\n";

static int fail(int code, const char *msg)
{
    fprintf(stderr, "aelab: error: %s\n", msg);
    return code;
}

/* aelab sample RUN_DIR [--n N] [--out FILE.png] [--seed S] */
static int sample(int argc, char **argv)
{
    if (argc < 3) return fail(AE_EINPUT, "usage: aelab sample RUN_DIR [--n 64] [--out FILE.png] [--seed S]");
    const char *dir = argv[2], *out = NULL;
    long n = 64, seed = 1;
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--n") && i + 1 < argc) n = atol(argv[++i]);
        else if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) seed = atol(argv[++i]);
        else return fail(AE_EINPUT, "usage: aelab sample RUN_DIR [--n 64] [--out FILE.png] [--seed S]");
    }
    if (n < 1 || n > 4096) return fail(AE_EINPUT, "--n must be in [1, 4096]");
    ae_run_opts o;
    memset(&o, 0, sizeof o);
    o.progress = 0;
    ae_run r;
    ae_err err = {0, ""};
    char path[4200];
    int rc = ae_run_open(&r, dir, &o, &err);
    if (!rc && !ae_model_is_gaussian(r.model))
        rc = ae_errf(&err, AE_EINPUT, "%s is not a variational model (model.latent.kind: gaussian): nothing to sample", dir);
    if (!rc && r.train.h == 1) rc = ae_errf(&err, AE_EINPUT, "%s: samples are drawn as images; this data is a table", dir);
    float *img = rc ? NULL : malloc((size_t)n * r.train.d * sizeof *img);
    ae_rng *rng = ae_rng_new((unsigned long)seed);
    if (!rc && (!img || !rng)) rc = ae_errf(&err, AE_EINTERNAL, "out of memory");
    if (!rc) rc = ae_vae_sample(r.model, rng, (size_t)n, img, &err);
    int cols = 1;
    while ((long)cols * cols < n) cols++;
    if (!out) out = ae_path_join(path, sizeof path, dir, "samples_cli.png");
    if (!rc) rc = ae_png_grid(out, img, (size_t)n, r.train.c, r.train.h, r.train.w, (int)((n + cols - 1) / cols), cols, 2, &err);
    if (!rc) printf("%s\n", out);
    free(img);
    ae_rng_free(rng);
    ae_run_free(&r);
    ae_registry_free_default();
    ae_dnnl_shutdown();
    return rc ? fail(rc, err.msg) : 0;
}

/* libgomp reads its wait policy once, when the program loads. Its default (spin, then sleep)
 * collapses when another process shares the cores: measured here, a 2-thread W2 epoch ran 10x
 * slower than with OMP_WAIT_POLICY=passive, which costs a few percent on an idle machine. So unless
 * the user chose a policy, aelab restarts itself once with `passive`. */
static void choose_wait_policy(char **argv)
{
    if (getenv("OMP_WAIT_POLICY") || getenv("AELAB_NO_REEXEC")) return;
    setenv("OMP_WAIT_POLICY", "passive", 1);
    setenv("AELAB_NO_REEXEC", "1", 1);
    execv("/proc/self/exe", argv);
    /* exec failed: go on with the default policy */
}

int main(int argc, char **argv)
{
    choose_wait_policy(argv);
    if (argc < 2) {
        fputs(usage, stderr);
        return AE_EINPUT;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        fputs(usage, stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version")) {
        printf("aelab %s\n", AELAB_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "list")) {
        ae_registry_print(ae_registry_default(), stdout);
        ae_registry_free_default();
        return 0;
    }
    if (!strcmp(cmd, "sample")) return sample(argc, argv);
    if (strcmp(cmd, "run") && strcmp(cmd, "check") && strcmp(cmd, "report")) {
        char m[256];
        snprintf(m, sizeof m, "unknown command '%s' (expected run, check, report or list; see aelab --help)", cmd);
        return fail(AE_EINPUT, m);
    }
    ae_run_opts o;
    memset(&o, 0, sizeof o);
    o.progress = -1;
    o.check_only = !strcmp(cmd, "check");
    o.report_only = !strcmp(cmd, "report");
    const char *file = NULL;
    const char **sets = calloc((size_t)argc, sizeof *sets);
    if (!sets) return fail(AE_EINTERNAL, "out of memory");
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        int has_val = i + 1 < argc;
        if (!strcmp(a, "--out") && has_val) o.out_dir = argv[++i];
        else if (!strcmp(a, "--data-dir") && has_val) o.data_dir = argv[++i];
        else if (!strcmp(a, "--set") && has_val) sets[o.nsets++] = argv[++i];
        else if (!strcmp(a, "--threads") && has_val) o.threads = atoi(argv[++i]);
        else if (!strcmp(a, "--quiet")) o.progress = 0;
        else if (!strcmp(a, "--jobs") && has_val) o.jobs = atoi(argv[++i]);
        else if (!strcmp(a, "--shard") && has_val) {
            const char *v = argv[++i];
            if (sscanf(v, "%d/%d", &o.shard, &o.nshards) != 2 || o.nshards < 1 || o.shard < 1 ||
                o.shard > o.nshards) {
                free(sets);
                return fail(AE_EINPUT, "--shard expects I/N with 1 <= I <= N, e.g. --shard 2/4");
            }
        }
        else if (a[0] == '-') {
            char m[256];
            snprintf(m, sizeof m, "unknown or incomplete option '%s' (see aelab --help)", a);
            free(sets);
            return fail(AE_EINPUT, m);
        } else if (!file) file = a;
        else {
            free(sets);
            return fail(AE_EINPUT, "only one config file per command");
        }
    }
    o.sets = sets;
    if (!file) {
        free(sets);
        return fail(AE_EINPUT, "missing the config file (aelab run FILE.yaml)");
    }
    ae_err err = {0, ""};
    int rc = ae_run_file(file, &o, &err);
    free(sets);
    ae_registry_free_default();
    ae_dnnl_shutdown();
    if (rc) return fail(rc, err.msg);
    return 0;
}
