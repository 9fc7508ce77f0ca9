/* Experiment files: base config + runs (overrides by dotted key) + optional grid + seeds, expanded
 * into jobs; the runner (sequential, --jobs N worker processes, --shard i/n) and `aelab check`'s
 * listing. Each job is an ordinary single run, so finished ones are skipped and interrupted ones
 * resume from their checkpoint. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ae_dnnl.h"
#include "ae_experiment.h"
#include "ae_report.h"
#include "ae_run.h"

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

/* One run × the grid's cartesian product × seeds. */
static int expand(ae_experiment *e, const ae_cfg *base, const char *name, const ae_cfg *sets,
                  const ae_cfg *grid, const long *seeds, size_t nseeds, ae_err *err)
{
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
        size_t len = (size_t)snprintf(label, sizeof label, "%s", name), rest = c;
        ae_cfg *cfg = ae_cfg_clone(base);
        if (!cfg) return ae_errf(err, AE_EINTERNAL, "out of memory");
        if (sets && apply_sets(cfg, sets, err)) { ae_cfg_free(cfg); return err->code; }
        for (size_t g = 0; g < ng; g++) {
            const ae_cfg *vals = ae_cfg_value_at(grid, g);
            const ae_cfg *v = ae_cfg_at(vals, rest % ae_cfg_len(vals));
            rest /= ae_cfg_len(vals);
            const char *key = ae_cfg_key_at(grid, g), *leaf = strrchr(key, '.');
            if (ae_cfg_set_path(cfg, key, v, err)) {
                ae_cfg_free(cfg);
                return ae_err_prefix(err, "%s", ae_cfg_where(v, w, sizeof w));
            }
            const char *sv = ae_cfg_scalar(v);
            if (len < sizeof label)
                len += (size_t)snprintf(label + len, sizeof label - len, "_%s=%s", leaf ? leaf + 1 : key,
                                        sv ? sv : "list");
        }
        for (size_t s = 0; s < nseeds; s++) {
            ae_cfg *copy = s + 1 < nseeds ? ae_cfg_clone(cfg) : cfg;
            if (!copy || add_job(e, label, seeds[s], copy, err)) {
                if (copy != cfg) ae_cfg_free(cfg);
                return err->code ? err->code : ae_errf(err, AE_EINTERNAL, "out of memory");
            }
        }
        char (*nr)[128] = realloc(e->runs, (e->nruns + 1) * sizeof *nr);
        if (nr) e->runs = nr;
        size_t *ns = nr ? realloc(e->suffix, (e->nruns + 1) * sizeof *ns) : NULL;
        if (!ns) return ae_errf(err, AE_EINTERNAL, "out of memory");
        e->suffix = ns;
        e->suffix[e->nruns] = strlen(name) < sizeof label ? strlen(name) : sizeof label - 1;
        snprintf(e->runs[e->nruns++], 128, "%s", label);
    }
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
    if (ae_cfg_str(root, "experiment", stem, NULL, &name, err) || load_base(root, path, &base, err) ||
        ae_cfg_seq(root, "runs", 0, &runs, err) || ae_cfg_seq(root, "seeds", 0, &seeds_cfg, err) ||
        ae_cfg_map(root, "grid", 0, &grid, err) || ae_cfg_str(root, "baseline", "", NULL, &baseline, err) ||
        ae_cfg_map(root, "outputs", 1, &outputs, err))
        goto out;
    ae_cfg_allow(root, "base");
    snprintf(e->name, sizeof e->name, "%s", name);
    snprintf(def, sizeof def, "runs/%s", name);
    if (ae_cfg_str(outputs, "dir", def, NULL, &dir, err) || ae_cfg_finish(outputs, "outputs", err) ||
        ae_cfg_finish(root, "experiment", err))
        goto out;
    snprintf(e->dir, sizeof e->dir, "%s", out_dir ? out_dir : dir);
    size_t nseeds = seeds_cfg ? ae_cfg_len(seeds_cfg) : 1;
    seeds = calloc(nseeds ? nseeds : 1, sizeof *seeds);
    if (!seeds) { rc = ae_errf(err, AE_EINTERNAL, "out of memory"); goto out; }
    if (nseeds == 0) { rc = ae_errf(err, AE_EINPUT, "%s: seeds: the list is empty", ae_cfg_where(seeds_cfg, w, sizeof w)); goto out; }
    seeds[0] = 42;
    for (size_t i = 0; seeds_cfg && i < nseeds; i++)
        if (ae_cfg_to_int(ae_cfg_at(seeds_cfg, i), 0, 4294967295L, &seeds[i], err)) goto out;
    size_t nruns = runs ? ae_cfg_len(runs) : 0;
    if (nruns == 0 && (rc = expand(e, base, "base", NULL, grid, seeds, nseeds, err))) goto out;
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
        for (size_t k = 0; k < e->nruns; k++)
            if (strlen(rn) == e->suffix[k] && !strncmp(e->runs[k], rn, e->suffix[k])) {
                rc = ae_errf(err, AE_EINPUT, "%s: %s: duplicate run name '%s'", ae_cfg_where(r, w, sizeof w), sect, rn);
                goto out;
            }
        if ((rc = expand(e, base, rn, sets, grid, seeds, nseeds, err))) goto out;
    }
    if (*baseline) {
        const char *names[256];
        size_t k = 0;
        int found = 0;
        for (; k < e->nruns && k < 255; k++) {
            names[k] = e->runs[k];
            found |= !strcmp(e->runs[k], baseline) ||
                     (strlen(baseline) == e->suffix[k] && !strncmp(e->runs[k], baseline, e->suffix[k]));
        }
        if (!found) {
            const char *near = ae_nearest(baseline, names, k);
            rc = ae_errf(err, AE_EINPUT, "%s: baseline '%s' is not a run%s%s%s",
                         ae_cfg_where(ae_cfg_get(root, "baseline"), w, sizeof w), baseline,
                         near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
            goto out;
        }
        snprintf(e->baseline, sizeof e->baseline, "%s", baseline);
    }
out:
    free(seeds);
    ae_cfg_free(base);
    ae_cfg_free(root);
    if (err->code) {
        ae_experiment_free(e);
        return err->code;
    }
    return rc;
}

int ae_experiment_in_shard(const ae_run_opts *o, size_t i)
{
    return o->nshards <= 1 || (int)(i % (size_t)o->nshards) == o->shard - 1;
}

int ae_experiment_run_job(const ae_job *j, const ae_run_opts *o, int threads, ae_err *err)
{
    ae_run_opts jo = *o;
    jo.out_dir = j->out;
    jo.threads = threads;
    if (o->quiet_runs) jo.progress = 0;
    ae_cfg *cfg = ae_cfg_clone(j->cfg);
    if (!cfg) return ae_errf(err, AE_EINTERNAL, "out of memory");
    int rc = ae_run_cfg(cfg, j->run, &jo, err);
    if (rc) ae_err_prefix(err, "run %s seed %ld", j->run, j->seed);
    return rc;
}

/* --jobs N: N worker processes, each taking the next job; threads are split between them. The
 * parent never starts oneDNN or OpenMP, so forking is safe. */
static int run_parallel(const ae_experiment *e, const ae_run_opts *o, int jobs, ae_err *err)
{
    int total = o->threads > 0 ? o->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    int per = total / jobs > 0 ? total / jobs : 1, failed = 0, running = 0;
    size_t next = 0;
    while (next < e->njobs || running > 0) {
        while (running < jobs && next < e->njobs) {
            size_t i = next++;
            if (!ae_experiment_in_shard(o, i)) continue;
            fflush(NULL);
            pid_t pid = fork();
            if (pid < 0) return ae_errf(err, AE_EINTERNAL, "fork failed");
            if (pid == 0) {
                ae_err ce = {0, ""};
                int rc = ae_experiment_run_job(&e->jobs[i], o, per, &ce);
                if (rc) fprintf(stderr, "aelab: error: %s\n", ce.msg);
                ae_dnnl_shutdown();
                _exit(rc);
            }
            running++;
        }
        int status;
        if (running > 0 && wait(&status) > 0) {
            running--;
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed++;
        }
    }
    if (failed) return ae_errf(err, AE_EINPUT, "%d run%s failed (see the messages above)", failed, failed > 1 ? "s" : "");
    return AE_OK;
}

int ae_experiment_run(ae_cfg *root, const char *path, const ae_run_opts *o, ae_err *err)
{
    ae_experiment e;
    if (ae_experiment_load(&e, root, path, o->out_dir, err)) return err->code;
    int rc = AE_OK;
    if (o->check_only) { /* validate every expanded run as a single config */
        printf("experiment %s: %zu runs x seeds = %zu jobs -> %s\n", e.name, e.nruns, e.njobs, e.dir);
        for (size_t i = 0; i < e.njobs && rc == AE_OK; i++) {
            ae_run r;
            ae_run_opts jo = *o;
            jo.out_dir = e.jobs[i].out;
            ae_cfg *cfg = ae_cfg_clone(e.jobs[i].cfg);
            rc = cfg ? ae_run_prepare_cfg(&r, cfg, path, &jo, err) : ae_errf(err, AE_EINTERNAL, "out of memory");
            if (rc) ae_err_prefix(err, "run %s seed %ld", e.jobs[i].run, e.jobs[i].seed);
            else printf("  %-32s seed %-6ld %s\n", e.jobs[i].run, e.jobs[i].seed, e.jobs[i].out);
            ae_run_free(&r);
        }
        ae_experiment_free(&e);
        return rc;
    }
#ifdef AELAB_WITH_MPI
    int mpi = ae_experiment_mpi_size() > 1;
#else
    int mpi = 0;
#endif
    if (!o->report_only) {
        if (ae_mkdirs(e.dir, err)) { ae_experiment_free(&e); return err->code; }
        int jobs = o->jobs > 1 ? o->jobs : 1;
        if (mpi) {
#ifdef AELAB_WITH_MPI
            rc = ae_experiment_run_mpi(&e, o, err); /* experiment_mpi.c: rank 0 hands out jobs */
            if (rc == AE_OK && ae_experiment_mpi_rank() != 0) { /* only rank 0 writes the table */
                ae_experiment_free(&e);
                return AE_OK;
            }
#endif
        } else if (jobs > 1) {
            rc = run_parallel(&e, o, jobs, err);
        } else {
            for (size_t i = 0; i < e.njobs && rc == AE_OK; i++)
                if (ae_experiment_in_shard(o, i)) rc = ae_experiment_run_job(&e.jobs[i], o, o->threads, err);
        }
    }
#ifdef AELAB_WITH_MPI
    if (mpi && ae_experiment_mpi_rank() != 0) { /* `aelab report` under mpirun: rank 0 writes */
        ae_experiment_free(&e);
        return rc;
    }
#endif
    if (rc == AE_OK) rc = ae_experiment_report(&e, stdout, err);
    ae_experiment_free(&e);
    return rc;
}
