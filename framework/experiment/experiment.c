/* Experiment files: base config + runs (overrides by dotted key) + optional grid + seeds, expanded
 * into jobs (two jobs never share a run folder), `aelab check`'s listing, and the run of an
 * experiment: a runner (experiment_exec.c chooses) executes the jobs, then the report. Each job is
 * an ordinary single run, so finished ones are skipped and interrupted ones resume from their
 * checkpoint. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ae_experiment.h"
#include "ae_report.h"
#include "ae_run.h"
#include "experiment_internal.h"

void ae_experiment_free(ae_experiment *e)
{
    for (size_t i = 0; i < e->njobs; i++) ae_cfg_free(e->jobs[i].cfg);
    free(e->jobs);
    free(e->runs);
    free(e->suffix);
    memset(e, 0, sizeof *e);
}

static int load_base(ae_cfg *root, const char *path, ae_cfg **base, ae_err *err)
{
    ae_cfg *b = ae_cfg_get(root, "base");
    char w[256];
    if (!b) return ae_errf(err, AE_EINPUT, "%s: an experiment needs 'base:' (a config file path or an "
                           "inline config)", ae_cfg_where(root, w, sizeof w));
    if (ae_cfg_kind_of(b) == AE_CFG_MAP) {
        *base = ae_cfg_clone(b);
        return *base ? AE_OK : ae_errf(err, AE_EINTERNAL, "out of memory");
    }
    const char *p = ae_cfg_scalar(b);
    if (!p) return ae_errf(err, AE_EINPUT, "%s: base: expected a file path or a map", ae_cfg_where(b, w, sizeof w));
    char full[8448];
    const char *slash = strrchr(path, '/');
    if (p[0] == '/' || !slash) snprintf(full, sizeof full, "%s", p);
    else snprintf(full, sizeof full, "%.*s/%s", (int)(slash - path), path, p);
    *base = ae_cfg_load_file(full, err);
    return *base ? AE_OK : ae_err_prefix(err, "%s: base", ae_cfg_where(b, w, sizeof w));
}

/* Applies every `key: value` of a map of dotted keys to cfg. */
static int apply_sets(ae_cfg *cfg, const ae_cfg *sets, ae_err *err)
{
    char w[256];
    for (size_t i = 0; i < ae_cfg_len(sets); i++) {
        ae_cfg *v = ae_cfg_value_at(sets, i);
        if (ae_cfg_set_path(cfg, ae_cfg_key_at(sets, i), v, err))
            return ae_err_prefix(err, "%s", ae_cfg_where(v, w, sizeof w));
    }
    return AE_OK;
}

static int add_job(ae_experiment *e, const char *run, long seed, ae_cfg *cfg, ae_err *err)
{
    ae_job *nj = realloc(e->jobs, (e->njobs + 1) * sizeof *nj);
    if (!nj) { ae_cfg_free(cfg); return ae_errf(err, AE_EINTERNAL, "out of memory"); }
    e->jobs = nj;
    ae_job *j = &e->jobs[e->njobs++];
    memset(j, 0, sizeof *j);
    snprintf(j->run, sizeof j->run, "%s", run);
    j->seed = seed;
    j->cfg = cfg;
    snprintf(j->out, sizeof j->out, "%s/%s/seed-%ld", e->dir, run, seed);
    char s[32];
    snprintf(s, sizeof s, "%ld", seed);
    if (ae_cfg_set_scalar(cfg, "seed", s) || ae_cfg_set_scalar(cfg, "name", run))
        return ae_errf(err, AE_EINTERNAL, "out of memory");
    return AE_OK;
}

/* Where each run label came from, to name both places when two labels (run folders) collide. */
typedef struct origin {
    const ae_cfg *name; /* the run's `name:` value (NULL: the base alone) */
    size_t combo;       /* index into the grid's cartesian product */
} origin;

typedef struct loader {
    ae_experiment *e;
    const ae_cfg *grid;
    origin *orig;       /* one per e->runs entry */
} loader;

/* The grid value node of key g in combination c. */
static const ae_cfg *grid_value(const ae_cfg *grid, size_t c, size_t g)
{
    for (size_t k = 0; k < g; k++) c /= ae_cfg_len(ae_cfg_value_at(grid, k));
    const ae_cfg *vals = ae_cfg_value_at(grid, g);
    return ae_cfg_at(vals, c % ae_cfg_len(vals));
}

/* A new label equal to an earlier one would put two runs in one folder: an error naming both. */
static int check_label(loader *L, const char *label, origin o, ae_err *err)
{
    ae_experiment *e = L->e;
    char w[256], w0[256];
    for (size_t k = 0; k < e->nruns; k++) {
        if (strcmp(e->runs[k], label)) continue;
        origin f = L->orig[k];
        const char *n = ae_cfg_scalar(o.name), *n0 = ae_cfg_scalar(f.name);
        if (o.name && f.name && o.name != f.name && !strcmp(n, n0))
            return ae_errf(err, AE_EINPUT, "%s: duplicate run name '%s' (first at %s)",
                           ae_cfg_where(o.name, w, sizeof w), n, ae_cfg_where(f.name, w0, sizeof w0));
        if (o.name == f.name) { /* two grid combinations of one run: name the values that differ */
            size_t g = 0;
            while (g + 1 < ae_cfg_len(L->grid) && grid_value(L->grid, o.combo, g) == grid_value(L->grid, f.combo, g)) g++;
            const ae_cfg *v = grid_value(L->grid, o.combo, g), *v0 = grid_value(L->grid, f.combo, g);
            return ae_errf(err, AE_EINPUT, "%s: grid.%s: this value gives run folder '%s' again (first from the "
                           "value at %s); grid values must read differently (a list or map value reads as "
                           "'list') within the folder name's 127 characters", ae_cfg_where(v, w, sizeof w),
                           ae_cfg_key_at(L->grid, g), label, ae_cfg_where(v0, w0, sizeof w0));
        }
        return ae_errf(err, AE_EINPUT, "%s: run folder '%s' (run '%s'%s, cut to 127 characters) is also the "
                       "folder of run '%s' (first at %s); shorten or rename one of them",
                       ae_cfg_where(o.name ? o.name : f.name, w, sizeof w), label, n ? n : "base",
                       ae_cfg_len(L->grid) ? " with its grid values" : "", n0 ? n0 : "base",
                       ae_cfg_where(f.name ? f.name : o.name, w0, sizeof w0));
    }
    return AE_OK;
}

static int add_label(loader *L, const char *label, size_t suffix, origin o, ae_err *err)
{
    ae_experiment *e = L->e;
    char (*nr)[128] = realloc(e->runs, (e->nruns + 1) * sizeof *nr);
    if (nr) e->runs = nr;
    size_t *ns = nr ? realloc(e->suffix, (e->nruns + 1) * sizeof *ns) : NULL;
    if (ns) e->suffix = ns;
    origin *no = ns ? realloc(L->orig, (e->nruns + 1) * sizeof *no) : NULL;
    if (!no) return ae_errf(err, AE_EINTERNAL, "out of memory");
    L->orig = no;
    L->orig[e->nruns] = o;
    e->suffix[e->nruns] = suffix;
    snprintf(e->runs[e->nruns++], 128, "%s", label);
    return AE_OK;
}

/* One run × the grid's cartesian product × seeds. */
static int expand(loader *L, const ae_cfg *base, const ae_cfg *name_node, const ae_cfg *sets,
                  const long *seeds, size_t nseeds, ae_err *err)
{
    ae_experiment *e = L->e;
    const ae_cfg *grid = L->grid;
    const char *name = name_node ? ae_cfg_scalar(name_node) : "base";
    size_t ng = grid ? ae_cfg_len(grid) : 0, combos = 1;
    char w[256];
    for (size_t g = 0; g < ng; g++) {
        const ae_cfg *vals = ae_cfg_value_at(grid, g);
        if (ae_cfg_kind_of(vals) != AE_CFG_SEQ || ae_cfg_len(vals) == 0)
            return ae_errf(err, AE_EINPUT, "%s: grid.%s: expected a non-empty list of values",
                           ae_cfg_where(vals, w, sizeof w), ae_cfg_key_at(grid, g));
        combos *= ae_cfg_len(vals);
    }
    for (size_t c = 0; c < combos; c++) {
        char label[128];
        size_t len = (size_t)snprintf(label, sizeof label, "%s", name);
        for (size_t g = 0; g < ng && len < sizeof label; g++) {
            const char *key = ae_cfg_key_at(grid, g), *leaf = strrchr(key, '.');
            const char *sv = ae_cfg_scalar(grid_value(grid, c, g));
            len += (size_t)snprintf(label + len, sizeof label - len, "_%s=%s", leaf ? leaf + 1 : key,
                                    sv ? sv : "list");
        }
        origin o = {name_node, c};
        if (check_label(L, label, o, err) ||
            add_label(L, label, strlen(name) < sizeof label ? strlen(name) : sizeof label - 1, o, err))
            return err->code;
        ae_cfg *cfg = ae_cfg_clone(base);
        if (!cfg) return ae_errf(err, AE_EINTERNAL, "out of memory");
        if (sets && apply_sets(cfg, sets, err)) { ae_cfg_free(cfg); return err->code; }
        for (size_t g = 0; g < ng; g++) {
            const ae_cfg *v = grid_value(grid, c, g);
            if (ae_cfg_set_path(cfg, ae_cfg_key_at(grid, g), v, err)) {
                ae_cfg_free(cfg);
                return ae_err_prefix(err, "%s", ae_cfg_where(v, w, sizeof w));
            }
        }
        for (size_t s = 0; s < nseeds; s++) {
            ae_cfg *copy = s + 1 < nseeds ? ae_cfg_clone(cfg) : cfg;
            if (!copy || add_job(e, label, seeds[s], copy, err)) {
                if (copy != cfg) ae_cfg_free(cfg);
                return err->code ? err->code : ae_errf(err, AE_EINTERNAL, "out of memory");
            }
        }
    }
    return AE_OK;
}

/* The seeds (default [42]); a seed listed twice would train two processes into one folder. */
static int read_seeds(const ae_cfg *seeds_cfg, long **seeds, size_t *nseeds, ae_err *err)
{
    char w[256], w0[256];
    size_t n = seeds_cfg ? ae_cfg_len(seeds_cfg) : 1;
    if (n == 0) return ae_errf(err, AE_EINPUT, "%s: seeds: the list is empty", ae_cfg_where(seeds_cfg, w, sizeof w));
    long *s = calloc(n, sizeof *s);
    if (!s) return ae_errf(err, AE_EINTERNAL, "out of memory");
    *seeds = s;
    *nseeds = n;
    s[0] = 42;
    for (size_t i = 0; seeds_cfg && i < n; i++) {
        const ae_cfg *v = ae_cfg_at(seeds_cfg, i);
        if (ae_cfg_to_int(v, 0, 4294967295L, &s[i], err)) return err->code;
        for (size_t k = 0; k < i; k++)
            if (s[k] == s[i])
                return ae_errf(err, AE_EINPUT, "%s: seeds[%zu]: duplicate seed %ld (first at %s, seeds[%zu]); "
                               "each seed is one run folder", ae_cfg_where(v, w, sizeof w), i, s[i],
                               ae_cfg_where(ae_cfg_at(seeds_cfg, k), w0, sizeof w0), k);
    }
    return AE_OK;
}

/* experiment.baseline names one of the runs (a run's own name, or the name a grid suffix extends). */
static int check_baseline(ae_experiment *e, ae_cfg *root, const char *baseline, ae_err *err)
{
    const char *names[256];
    char w[256];
    size_t k = 0;
    int found = 0;
    for (; k < e->nruns && k < 255; k++) {
        names[k] = e->runs[k];
        found |= !strcmp(e->runs[k], baseline) ||
                 (strlen(baseline) == e->suffix[k] && !strncmp(e->runs[k], baseline, e->suffix[k]));
    }
    if (!found) {
        const char *near = ae_nearest(baseline, names, k);
        return ae_errf(err, AE_EINPUT, "%s: baseline '%s' is not a run%s%s%s",
                       ae_cfg_where(ae_cfg_get(root, "baseline"), w, sizeof w), baseline,
                       near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
    }
    snprintf(e->baseline, sizeof e->baseline, "%s", baseline);
    return AE_OK;
}

int ae_experiment_load(ae_experiment *e, ae_cfg *root, const char *path, const char *out_dir, ae_err *err)
{
    memset(e, 0, sizeof *e);
    ae_cfg *base = NULL, *runs, *seeds_cfg, *grid, *outputs;
    const char *name, *baseline, *dir;
    char stem[128], def[256], w[256];
    const char *b = strrchr(path, '/');
    snprintf(stem, sizeof stem, "%s", b ? b + 1 : path);
    char *dot = strrchr(stem, '.');
    if (dot) *dot = '\0';
    long *seeds = NULL;
    int rc = AE_OK;
    loader L = {e, NULL, NULL};
    if (ae_cfg_str(root, "experiment", stem, NULL, &name, err) || load_base(root, path, &base, err) ||
        ae_cfg_seq(root, "runs", 0, &runs, err) || ae_cfg_seq(root, "seeds", 0, &seeds_cfg, err) ||
        ae_cfg_map(root, "grid", 0, &grid, err) || ae_cfg_str(root, "baseline", "", NULL, &baseline, err) ||
        ae_cfg_map(root, "outputs", 1, &outputs, err))
        goto out;
    ae_cfg_allow(root, "base");
    ae_cfg_allow(root, "table"); /* read once the jobs exist (ae_exp_table_read) */
    snprintf(e->name, sizeof e->name, "%s", name);
    snprintf(e->path, sizeof e->path, "%s", path);
    snprintf(def, sizeof def, "runs/%s", name);
    if (ae_cfg_str(outputs, "dir", def, NULL, &dir, err) || ae_cfg_finish(outputs, "outputs", err) ||
        ae_cfg_finish(root, "experiment", err))
        goto out;
    snprintf(e->dir, sizeof e->dir, "%s", out_dir ? out_dir : dir);
    size_t nseeds = 0;
    if (read_seeds(seeds_cfg, &seeds, &nseeds, err)) goto out;
    size_t nruns = runs ? ae_cfg_len(runs) : 0;
    L.grid = grid;
    if (nruns == 0 && (rc = expand(&L, base, NULL, NULL, seeds, nseeds, err))) goto out;
    for (size_t i = 0; i < nruns; i++) {
        ae_cfg *r = ae_cfg_at(runs, i), *sets;
        const char *rn;
        char sect[32];
        snprintf(sect, sizeof sect, "runs[%zu]", i);
        if (ae_cfg_kind_of(r) != AE_CFG_MAP) {
            rc = ae_errf(err, AE_EINPUT, "%s: %s: expected {name: NAME, set: {dotted.key: value, ...}}",
                         ae_cfg_where(r, w, sizeof w), sect);
            goto out;
        }
        if (ae_cfg_str(r, "name", NULL, NULL, &rn, err) || ae_cfg_map(r, "set", 0, &sets, err) ||
            ae_cfg_finish(r, sect, err))
            goto out;
        if (strpbrk(rn, "/ ") || !*rn) {
            rc = ae_errf(err, AE_EINPUT, "%s: %s.name: '%s' cannot name a folder (no '/' or spaces)",
                         ae_cfg_where(r, w, sizeof w), sect, rn);
            goto out;
        }
        if ((rc = expand(&L, base, ae_cfg_get(r, "name"), sets, seeds, nseeds, err))) goto out;
    }
    if (*baseline && (rc = check_baseline(e, root, baseline, err))) goto out;
    rc = ae_exp_table_read(e, root, err);
out:
    free(L.orig);
    free(seeds);
    ae_cfg_free(base);
    ae_cfg_free(root);
    if (err->code) {
        ae_experiment_free(e);
        return err->code;
    }
    return rc;
}

/* Has any job written its final.json (the mark of a finished run)? */
static int any_finished(const ae_experiment *e)
{
    for (size_t i = 0; i < e->njobs; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/final.json", e->jobs[i].out);
        if (access(p, F_OK) == 0) return 1;
    }
    return 0;
}

int ae_experiment_is(const ae_cfg *root) { return ae_cfg_has(root, "runs") || ae_cfg_has(root, "experiment"); }

/* aelab check EXP.yaml: every expanded run validated as a single config, and listed; with
 * --shard I/N only the jobs of that slice (those `aelab run --shard I/N` would run). */
static int check_jobs(const ae_experiment *e, const ae_experiment_opts *o, ae_err *err)
{
    int rc = AE_OK;
    printf("experiment %s: %zu runs x seeds = %zu jobs -> %s\n", e->name, e->nruns, e->njobs, e->dir);
    if (o->nshards > 1) {
        size_t n = 0;
        for (size_t i = 0; i < e->njobs; i++) n += (size_t)ae_experiment_in_shard(o, i);
        printf("shard %d/%d: %zu of them\n", o->shard, o->nshards, n);
    }
    for (size_t i = 0; i < e->njobs && rc == AE_OK; i++) {
        if (!ae_experiment_in_shard(o, i)) continue;
        ae_run r;
        ae_run_opts jo = o->run;
        jo.out_dir = e->jobs[i].out;
        ae_cfg *cfg = ae_cfg_clone(e->jobs[i].cfg);
        rc = cfg ? ae_run_prepare_cfg(&r, cfg, e->path, &jo, err) : ae_errf(err, AE_EINTERNAL, "out of memory");
        if (rc) ae_err_prefix(err, "run %s seed %ld", e->jobs[i].run, e->jobs[i].seed);
        else printf("  %-32s seed %-6ld %s\n", e->jobs[i].run, e->jobs[i].seed, e->jobs[i].out);
        ae_run_free(&r);
    }
    return rc;
}

/* This process's jobs by the runner's strategy (unless report_only), then the table when this
 * process writes it. */
static int run_and_report(const ae_experiment *e, const char *path, const ae_experiment_opts *o, ae_err *err)
{
    const ae_exp_runner *runner;
    if (ae_exp_choose_runner(o, &runner, err)) return err->code;
    int rc = AE_OK;
    if (!o->report_only && (rc = ae_mkdirs(e->dir, err)) == AE_OK) rc = runner->exec(e, o, err);
    if (!runner->writes_report()) return rc; /* MPI ranks > 0: rank 0 writes the table */
    const char *out = o->run.out_dir;
    if (rc == AE_OK && o->report_only && !any_finished(e))
        rc = ae_errf(err, AE_EINPUT, "%s: no run of experiment %s has finished yet, so there is nothing to "
                     "report: run it first (aelab run %s%s%s)", e->dir, e->name, path, out ? " --out " : "",
                     out ? out : "");
    if (rc == AE_OK) rc = ae_experiment_report(e, stdout, err);
    return rc;
}

int ae_experiment_run(ae_cfg *root, const char *path, const ae_experiment_opts *o, ae_err *err)
{
    ae_experiment e;
    if (ae_experiment_load(&e, root, path, o->run.out_dir, err)) return err->code;
    int rc = o->run.check_only ? check_jobs(&e, o, err) : run_and_report(&e, path, o, err);
    ae_experiment_free(&e);
    return rc;
}
