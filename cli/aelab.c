/* The aelab command line: run / check a YAML config, list what is registered. Exit codes:
 * 0 ok, 2 bad config/data/usage, 3 training diverged, 4 I/O error, 130 interrupted. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ae_builtins.h"
#include "ae_dnnl.h"
#include "ae_experiment.h"
#include "ae_registry.h"
#include "ae_report.h"
#include "ae_run.h"
#include "ae_vae.h"
#include "aelab_cli.h"

#define MAX_THREADS 512L
#define MAX_JOBS 256L
#define MAX_SHARDS 1000000L
#define MAX_SAMPLES 4096L
#define MAX_SEED 4294967295L

static const char usage[] =
    "usage: aelab COMMAND [options]   (aelab sample|export|encode --help: their options)\n"
    "\n"
    "commands:\n"
    "  run FILE.yaml     train (and evaluate) the model a config describes, or every run of an\n"
    "                    experiment file (runs x grid x seeds) and print its results table\n"
    "  check FILE.yaml   validate a config and print it resolved (defaults filled), or list the\n"
    "                    runs an experiment expands to; trains nothing\n"
    "  report EXP.yaml   gather an experiment's finished runs into results.csv/.md/.html and plots\n"
    "  sample RUN_DIR    decode prior samples of a trained VAE into a PNG grid (--n N, --out FILE)\n"
    "  export RUN_DIR    write a trained model's parameters for PyTorch/NumPy: --format safetensors\n"
    "                    (default) or npy, PyTorch names and shapes, its config.yaml beside\n"
    "  encode RUN_DIR    codes of the run's test set (or of --set data.KEY=V ...) as a float32 .npy\n"
    "  list              print the registered variants, layers and regularizers with their keys\n"
    "                    (--markdown: every config key as Markdown, i.e. docs/config.md)\n"
    "\n"
    "options (run, check, report):\n"
    "  --out DIR         output folder (default: outputs.dir, i.e. runs/<name>)\n"
    "  --set KEY=VALUE   override a config value by dotted key, e.g. --set train.epochs=5\n"
    "                    or --set 'regularizers=[{type: l1, weight: 1e-4}]' (repeatable)\n"
    "  --data-dir DIR    where data files are looked up first (then $AELAB_DATA, colon-separated)\n"
    "  --threads N       threads for oneDNN and aelab, 0..512 (default: the config's; 0 = all cores)\n"
    "  --quiet           no progress line\n"
    "  --jobs N          experiments: N runs at once (1..256), threads split between them\n"
    "  --shard I/N       experiments: run (check: list) the I-th of N deterministic slices,\n"
    "                    1 <= I <= N (array jobs)\n"
    "  --help, --version\n";

static const char usage_sample[] =
    "usage: aelab sample RUN_DIR [options]\n"
    "decodes prior samples of a trained VAE (model.latent.kind: gaussian, image data) into a PNG grid\n"
    "\n"
    "options:\n"
    "  --n N             number of samples, 1..4096 (default 64)\n"
    "  --out FILE.png    where to write the grid (default: RUN_DIR/samples_cli.png)\n"
    "  --seed S          random seed, 0..4294967295 (default 1)\n"
    "  --data-dir DIR    where the run's data files are looked up first (then $AELAB_DATA)\n"
    "  --help\n";

/* Options that take a value, per command (for --help anywhere and for "needs a value"). */
static const char *const run_valued[] = {"--out", "--set", "--data-dir", "--threads", "--jobs", "--shard", NULL};
static const char *const sample_valued[] = {"--n", "--out", "--seed", "--data-dir", NULL};

static int fail(int code, const char *msg)
{
    fprintf(stderr, "aelab: error: %s\n", msg);
    return code;
}

/* The registry of this command: the built-in units; a config's plug-ins load into it. */
static ae_registry *new_registry(void)
{
    ae_registry *r = ae_registry_new();
    if (r && ae_register_builtins(r)) {
        ae_registry_free(r);
        r = NULL;
    }
    if (!r) fail(AE_EINTERNAL, "out of memory");
    return r;
}

static int is_help(const char *a) { return !strcmp(a, "--help") || !strcmp(a, "-h"); }

static int takes_value(const char *a, const char *const *valued)
{
    for (; *valued; valued++)
        if (!strcmp(a, *valued)) return 1;
    return 0;
}

/* --help or -h in an option position anywhere after the command (not as another option's value). */
static int wants_help(int argc, char **argv, const char *const *valued)
{
    for (int i = 2; i < argc; i++) {
        if (is_help(argv[i])) return 1;
        if (takes_value(argv[i], valued)) i++;
    }
    return 0;
}

/* 1 when v is a whole decimal number in [min, max]: no blanks, no trailing text, no overflow. */
static int whole_number(const char *v, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (!*v || isspace((unsigned char)*v) || *end || errno == ERANGE || x < min || x > max) return 0;
    *out = x;
    return 1;
}

/* The same for option opt; else an error naming the option, the value (shortened when long) and
 * the range. */
static int opt_long(const char *opt, const char *v, long min, long max, long *out)
{
    if (whole_number(v, min, max, out)) return AE_OK;
    fprintf(stderr, "aelab: error: %s '%.60s%s': expected a whole number in [%ld, %ld]\n", opt, v,
            strlen(v) > 60 ? "…" : "", min, max);
    return AE_EINPUT;
}

static long cores_online(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? n : 1;
}

static void warn_over_cores(const char *opt, long v)
{
    long cores = cores_online();
    if (v > cores)
        fprintf(stderr, "aelab: warning: %s %ld is more than the %ld core%s online: the threads will share "
                "cores and run slower\n", opt, v, cores, cores == 1 ? "" : "s");
}

/* --shard I/N: 1 <= I <= N (1-based, as ae_experiment_in_shard counts). */
static int opt_shard(const char *v, ae_experiment_opts *o)
{
    const char *slash = strchr(v, '/');
    char i_text[32];
    long i = 0, n = 0;
    size_t il = slash ? (size_t)(slash - v) : 0;
    if (slash && il < sizeof i_text) {
        memcpy(i_text, v, il);
        i_text[il] = '\0';
    }
    if (!slash || il >= sizeof i_text || !whole_number(slash + 1, 1, MAX_SHARDS, &n) ||
        !whole_number(i_text, 1, n, &i)) {
        fprintf(stderr, "aelab: error: --shard '%.60s%s': expected I/N, whole numbers with 1 <= I <= N <= %ld "
                "(the I-th of N slices, counted from 1), e.g. --shard 2/4\n", v, strlen(v) > 60 ? "…" : "",
                MAX_SHARDS);
        return AE_EINPUT;
    }
    o->shard = (int)i;
    o->nshards = (int)n;
    return AE_OK;
}

/* One option of run/check/report at argv[*i] (advances *i past its value). */
static int run_option(int argc, char **argv, int *i, ae_experiment_opts *eo, const char **sets)
{
    ae_run_opts *o = &eo->run;
    const char *a = argv[*i];
    if (!strcmp(a, "--quiet")) {
        o->progress = 0;
        return AE_OK;
    }
    char m[256];
    if (!takes_value(a, run_valued)) {
        snprintf(m, sizeof m, "unknown or incomplete option '%.60s%s' (see aelab %s --help)", a,
                 strlen(a) > 60 ? "…" : "", argv[1]);
        return fail(AE_EINPUT, m);
    }
    if (*i + 1 >= argc) {
        snprintf(m, sizeof m, "%s needs a value (see aelab %s --help)", a, argv[1]);
        return fail(AE_EINPUT, m);
    }
    const char *v = argv[++*i];
    long x;
    if (!strcmp(a, "--out")) o->out_dir = v;
    else if (!strcmp(a, "--data-dir")) o->data_dir = v;
    else if (!strcmp(a, "--set")) sets[o->nsets++] = v;
    else if (!strcmp(a, "--threads")) {
        if (opt_long(a, v, 0, MAX_THREADS, &x)) return AE_EINPUT;
        warn_over_cores(a, x);
        o->threads = x ? (int)x : (int)cores_online(); /* 0 = all cores, over the config's value */
    } else if (!strcmp(a, "--jobs")) {
        if (opt_long(a, v, 1, MAX_JOBS, &x)) return AE_EINPUT;
        warn_over_cores(a, x);
        eo->jobs = (int)x;
    } else return opt_shard(v, eo);
    return AE_OK;
}

/* The CLI decides: an experiment file (runs:, experiment:) runs as an experiment, anything else as
 * a single run, which neither --shard nor `aelab report` applies to. */
static int run_file(const char *file, const ae_experiment_opts *eo, ae_err *err)
{
    ae_cfg *root = ae_cfg_load_file(file, err);
    if (!root) return err->code;
    if (ae_experiment_is(root)) return ae_experiment_run(root, file, eo, err); /* takes the tree */
    int rc = AE_OK;
    if (eo->nshards >= 1)
        rc = ae_errf(err, AE_EINPUT, "--shard %d/%d: %s is a single-run config; --shard slices the runs of an "
                     "experiment file (with runs:)", eo->shard, eo->nshards, file);
    else if (eo->report_only)
        rc = ae_errf(err, AE_EINPUT, "%s is a single-run config: `aelab report` takes an experiment file "
                     "(with runs:)", file);
    if (rc) {
        ae_cfg_free(root);
        return rc;
    }
    return ae_run_cfg(root, file, &eo->run, err); /* takes the tree */
}

/* aelab run|check|report FILE.yaml [options] */
static int run_command(int argc, char **argv)
{
    const char *cmd = argv[1];
    ae_experiment_opts eo;
    memset(&eo, 0, sizeof eo);
    eo.run.progress = -1;
    eo.run.check_only = !strcmp(cmd, "check");
    eo.report_only = !strcmp(cmd, "report");
    const char *file = NULL;
    const char **sets = calloc((size_t)argc, sizeof *sets);
    if (!sets) return fail(AE_EINTERNAL, "out of memory");
    int rc = AE_OK;
    for (int i = 2; i < argc && !rc; i++) {
        if (argv[i][0] == '-' && argv[i][1]) rc = run_option(argc, argv, &i, &eo, sets);
        else if (!file) file = argv[i];
        else rc = fail(AE_EINPUT, "only one config file per command");
    }
    eo.run.sets = sets;
    if (!rc && !file) rc = fail(AE_EINPUT, "missing the config file (aelab run FILE.yaml)");
    if (!rc && !(eo.run.registry = new_registry())) rc = AE_EINTERNAL;
    if (!rc) {
        ae_err err = {0};
        rc = run_file(file, &eo, &err);
        if (rc) fail(rc, err.msg);
        ae_registry_free(eo.run.registry);
        ae_dnnl_shutdown();
    }
    free(sets);
    return rc;
}

/* One option of sample at argv[*i]. */
static int sample_option(int argc, char **argv, int *i, long *n, long *seed, const char **out, ae_run_opts *o)
{
    const char *a = argv[*i];
    char m[256];
    if (!takes_value(a, sample_valued)) {
        snprintf(m, sizeof m, "unknown or incomplete option '%.60s%s' (see aelab sample --help)", a,
                 strlen(a) > 60 ? "…" : "");
        return fail(AE_EINPUT, m);
    }
    if (*i + 1 >= argc) {
        snprintf(m, sizeof m, "%s needs a value (see aelab sample --help)", a);
        return fail(AE_EINPUT, m);
    }
    const char *v = argv[++*i];
    if (!strcmp(a, "--n")) return opt_long(a, v, 1, MAX_SAMPLES, n);
    if (!strcmp(a, "--seed")) return opt_long(a, v, 0, MAX_SEED, seed);
    if (!strcmp(a, "--out")) *out = v;
    else o->data_dir = v;
    return AE_OK;
}

/* Decodes n prior samples of the run in dir into a PNG grid at out. */
static int draw_samples(const char *dir, const char *out, long n, long seed, const ae_run_opts *o, ae_err *err)
{
    ae_run r;
    char path[4200];
    int rc = ae_run_open(&r, dir, o, err);
    if (!rc && !ae_model_has_prior(r.model))
        rc = ae_errf(err, AE_EINPUT, "%s is not a variational model (its %s latent has no prior; use e.g. "
                     "model.latent.kind: gaussian): nothing to sample", dir, ae_model_latent_kind(r.model));
    if (!rc && r.train.h == 1)
        rc = ae_errf(err, AE_EINPUT, "%s: samples are drawn as images; this data is a table", dir);
    float *img = rc ? NULL : malloc((size_t)n * r.train.d * sizeof *img);
    ae_rng *rng = ae_rng_new((unsigned long)seed);
    if (!rc && (!img || !rng)) rc = ae_errf(err, AE_EINTERNAL, "out of memory");
    if (!rc) rc = ae_vae_sample(r.model, rng, (size_t)n, img, err);
    int cols = 1;
    while ((long)cols * cols < n) cols++;
    if (!out) out = ae_path_join(path, sizeof path, dir, "samples_cli.png");
    if (!rc)
        rc = ae_png_grid(out, img, (size_t)n, r.train.c, r.train.h, r.train.w, (int)((n + cols - 1) / cols), cols,
                         2, err);
    if (!rc) printf("%s\n", out);
    free(img);
    ae_rng_free(rng);
    ae_run_free(&r);
    return rc;
}

/* aelab sample RUN_DIR [--n N] [--out FILE.png] [--seed S] [--data-dir DIR] */
static int sample(int argc, char **argv)
{
    const char *dir = NULL, *out = NULL;
    long n = 64, seed = 1;
    ae_run_opts o;
    memset(&o, 0, sizeof o);
    o.progress = 0;
    for (int i = 2; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1]) {
            if (sample_option(argc, argv, &i, &n, &seed, &out, &o)) return AE_EINPUT;
        } else if (!dir) dir = argv[i];
        else return fail(AE_EINPUT, "only one run folder per command (see aelab sample --help)");
    }
    if (!dir) return fail(AE_EINPUT, "missing the run folder (aelab sample RUN_DIR; see aelab sample --help)");
    if (!(o.registry = new_registry())) return AE_EINTERNAL;
    ae_err err = {0};
    int rc = draw_samples(dir, out, n, seed, &o, &err);
    ae_registry_free(o.registry);
    ae_dnnl_shutdown();
    return rc ? fail(rc, err.msg) : 0;
}

/* libgomp reads its wait policy once, when the program loads. Its default (spin 300,000 times, then
 * sleep) collapses when another process shares the cores: measured here, a 2-thread W2 epoch ran 10x
 * slower than with OMP_WAIT_POLICY=passive. Passive alone sleeps at once, and waking a sleeping
 * thread is slow on a VM (W9: 2 threads 1.24x one thread instead of 1.52x). So unless the user chose
 * a policy, aelab restarts itself once with `passive` and a short spin (1,000 pauses, ~26 us on a Zen
 * 5) that bridges the gaps between a step's regions but not a busy core's time slice
 * (bench/analysis_issue17_spin.md). */
static void choose_wait_policy(char **argv)
{
    if (getenv("OMP_WAIT_POLICY") || getenv("AELAB_NO_REEXEC")) return;
    setenv("OMP_WAIT_POLICY", "passive", 1);
    setenv("GOMP_SPINCOUNT", "1000", 0); /* the user's, when set */
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
    int run_like = !strcmp(cmd, "run") || !strcmp(cmd, "check") || !strcmp(cmd, "report");
    if (is_help(cmd) || !strcmp(cmd, "help")) {
        fputs(usage, stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version")) {
        printf("aelab %s\n", AELAB_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "sample")) {
        if (wants_help(argc, argv, sample_valued)) return fputs(usage_sample, stdout), 0;
        return sample(argc, argv);
    }
    if (!strcmp(cmd, "export") || !strcmp(cmd, "encode")) return aelab_export_command(argc, argv);
    if (!strcmp(cmd, "list")) {
        if (wants_help(argc, argv, run_valued)) return fputs(usage, stdout), 0;
        int md = argc == 3 && !strcmp(argv[2], "--markdown");
        int keys = argc == 3 && !strcmp(argv[2], "--keys"); /* undocumented: for the bash completion */
        if (argc > 2 && !md && !keys) {
            char m[256];
            snprintf(m, sizeof m, "list: unexpected argument '%.60s' (expected nothing or --markdown)", argv[2]);
            return fail(AE_EINPUT, m);
        }
        ae_registry *reg = new_registry();
        if (!reg) return AE_EINTERNAL;
        if (keys) ae_config_keys(reg, stdout);
        else if (md) ae_config_markdown(reg, stdout);
        else ae_registry_print(reg, stdout);
        ae_registry_free(reg);
        return 0;
    }
    if (!run_like) {
        char m[256];
        snprintf(m, sizeof m, "unknown command '%.60s%s' (expected run, check, report, sample, export, encode "
                 "or list; see aelab --help)", cmd, strlen(cmd) > 60 ? "…" : "");
        return fail(AE_EINPUT, m);
    }
    if (wants_help(argc, argv, run_valued)) return fputs(usage, stdout), 0;
    return run_command(argc, argv);
}
