/* One run: resolve the config (plug-ins, variant preset, --set, defaults), load data, build the
 * model, train with per-epoch metrics, then write outputs. Stops cleanly on SIGINT/SIGTERM. */
#include <gsl/gsl_errno.h>
#include <math.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ae_checkpoint.h"
#include "ae_dnnl.h"
#include "ae_pretrain.h"
#include "ae_report.h"
#include "ae_run.h"

static int load_plugins(ae_cfg *root, const char *cfg_path, ae_registry *reg, ae_err *err)
{
    ae_cfg *seq;
    if (ae_cfg_seq(root, "plugins", 0, &seq, err) || !seq) return err->code;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", cfg_path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    else snprintf(dir, sizeof dir, ".");
    for (size_t i = 0; i < ae_cfg_len(seq); i++) {
        const char *p = ae_cfg_scalar(ae_cfg_at(seq, i));
        char full[8448], w[256];
        if (!p) return ae_errf(err, AE_EINPUT, "%s: plugins[%zu]: expected a path to a .so file",
                               ae_cfg_where(ae_cfg_at(seq, i), w, sizeof w), i);
        if (p[0] == '/') snprintf(full, sizeof full, "%s", p);
        else snprintf(full, sizeof full, "%s/%s", dir, p);
        if (ae_registry_load_plugin(reg, full, err))
            return ae_err_prefix(err, "%s", ae_cfg_where(ae_cfg_at(seq, i), w, sizeof w));
    }
    return AE_OK;
}

/* Two maps that name different `type`s or `kind`s (a masking corruption under a gaussian preset):
 * the preset's keys belong to the other kind, so none of them applies. */
static int other_kind(const ae_cfg *user, const ae_cfg *preset)
{
    static const char *const keys[] = {"type", "kind"};
    for (int i = 0; i < 2; i++) {
        const ae_cfg *u = ae_cfg_lookup(user, keys[i]), *p = ae_cfg_lookup(preset, keys[i]);
        if (u && p && ae_cfg_scalar(u) && ae_cfg_scalar(p) && strcmp(ae_cfg_scalar(u), ae_cfg_scalar(p))) return 1;
    }
    return 0;
}

/* Adds what `preset` has and `user` lacks, recursively through maps (user keys win, lists are
 * not merged); the user's key order is kept. */
static int merge_under(ae_cfg *user, const ae_cfg *preset, int top, ae_err *err)
{
    for (size_t i = 0; i < ae_cfg_len(preset); i++) {
        const char *k = ae_cfg_key_at(preset, i);
        ae_cfg *pv = ae_cfg_value_at(preset, i), *uv = ae_cfg_lookup(user, k);
        /* the model is the user's to write: a preset only adds to one that exists */
        if (top && !strcmp(k, "model") && !ae_cfg_has(user, k)) continue;
        if (!ae_cfg_has(user, k)) {
            if (ae_cfg_set_node(user, k, ae_cfg_clone(pv))) return ae_errf(err, AE_EINTERNAL, "out of memory");
        } else if (uv && ae_cfg_kind_of(uv) == AE_CFG_MAP && ae_cfg_kind_of(pv) == AE_CFG_MAP &&
                   !other_kind(uv, pv)) {
            if (merge_under(uv, pv, 0, err)) return err->code;
        }
    }
    return AE_OK;
}

/* `variant: NAME` → the preset's YAML under the user's config. */
static int apply_variant(ae_cfg *root, const ae_registry *reg, ae_err *err)
{
    const char *name;
    if (ae_cfg_str(root, "variant", "undercomplete", ae_variant_names(reg), &name, err)) return err->code;
    const ae_variant *v = ae_find_variant(reg, name);
    ae_cfg *preset = ae_cfg_load_text(v->preset_yaml, "variant preset", v->name, err);
    if (!preset) return err->code; /* the message names the preset and its line */
    int rc = merge_under(root, preset, 1, err);
    ae_cfg_free(preset);
    return rc;
}

/* train and outputs, from their tables (run_schema.c). */
static int read_train(ae_run *r, const ae_run_opts *o, ae_err *err)
{
    ae_cfg *t;
    ae_optim_defaults(&r->oc, AE_OPT_ADAM); /* what the optimizer's keys leave (sgd: betas; adam: momentum) */
    if (ae_cfg_map(r->root, "train", 1, &t, err) || ae_schema_read(&ae_train_schema, t, r, 1, err) ||
        ae_schedule_check(&r->tc.schedule, ae_cfg_lookup(t, "schedule"), err))
        return err->code;
    if (o->progress >= 0) r->tc.progress = o->progress;
    return AE_OK;
}

static int read_outputs(ae_run *r, const ae_run_opts *o, ae_err *err)
{
    ae_cfg *out;
    if (ae_cfg_map(r->root, "outputs", 1, &out, err) || ae_schema_read(&ae_outputs_schema, out, r, 1, err))
        return err->code;
    if (o->out_dir) snprintf(r->out_dir, sizeof r->out_dir, "%s", o->out_dir);
    const ae_cfg *k = ae_cfg_get(out, "anomaly_elbo_samples");
    char w[256];
    if (r->anomaly_elbo > 0 && !ae_model_has_posterior(r->model))
        return ae_errf(err, AE_EINPUT, "%s: outputs.anomaly_elbo_samples: the -ELBO score needs a latent with a "
                       "posterior density (model.latent.kind: gaussian); the %s latent has none",
                       ae_cfg_where(k, w, sizeof w), ae_model_latent_kind(r->model));
    return AE_OK;
}

/* data.exclude_label: drops that class from the training set after the scaling was fit (as it
 * always did; data.normal_labels, the general form, drops rows before: ae_data_from_config). */
static int exclude_label(ae_run *r, ae_err *err)
{
    return r->oneclass.excluded ? ae_oneclass_split(&r->oneclass, &r->train, &r->test, err) : AE_OK;
}

int ae_run_prepare(ae_run *r, const char *path, const ae_run_opts *o, ae_err *err)
{
    ae_cfg *root = ae_cfg_load_file(path, err);
    if (!root) {
        memset(r, 0, sizeof *r);
        return err->code;
    }
    return ae_run_prepare_cfg(r, root, path, o, err);
}

int ae_run_prepare_cfg(ae_run *r, ae_cfg *root, const char *path, const ae_run_opts *o, ae_err *err)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    r->root = root;
    r->baseline_cache = o->baseline_cache; /* an experiment's; else AELAB_BASELINE_CACHE (opt-in, any run) */
    if (!r->baseline_cache || !*r->baseline_cache) r->baseline_cache = getenv("AELAB_BASELINE_CACHE");
    gsl_set_error_handler_off();
    ae_registry *reg = o->registry;
    if (!reg) return ae_errf(err, AE_EINTERNAL, "%s: ae_run_opts.registry is not set", path);
    for (size_t i = 0; i < o->nsets; i++)
        if (ae_cfg_apply_set(r->root, o->sets[i], err)) return err->code;
    if (load_plugins(r->root, path, reg, err) || apply_variant(r->root, reg, err)) return err->code;
    const char *base = strrchr(path, '/');
    snprintf(r->name, sizeof r->name, "%s", base ? base + 1 : path); /* the default name: the stem */
    char *dot = strrchr(r->name, '.');
    if (dot) *dot = '\0';
    if (ae_schema_read(&ae_config_schema, r->root, r, 0, err)) return err->code; /* name, seed, threads */
    ae_set_threads(o->threads > 0 ? o->threads : (int)r->threads);
    if (!(r->rng = ae_rng_new(r->seed))) return ae_errf(err, AE_EINTERNAL, "out of memory");
    ae_cfg *data;
    const char *source = NULL;
    if (ae_cfg_map(r->root, "data", 0, &data, err) ||
        ae_data_head(data, ae_source_names(reg), &(long){0}, &source, err) || /* exclude_label: oneclass's */
        ae_oneclass_read(data, &r->oneclass, err) ||
        ae_data_from_config(data, source ? ae_find_source(reg, source) : NULL, o->data_dir, r->seed, &r->train,
                            &r->test, &r->val, err) ||
        exclude_label(r, err))
        return err->code;
    if (ae_model_configure(r->root, reg, &r->train, r->seed, r->rng, &r->model, err) ||
        read_train(r, o, err) || read_outputs(r, o, err) ||
        ae_pretrain_configure(r->root, reg, r->model, &r->train, &r->pretrain, err))
        return err->code;
    if (ae_cfg_finish(r->root, NULL, err)) {
        char keys[512];
        if (err->kind == AE_KIND_UNKNOWN_KEY_LISTED) return err->code;
        return ae_err_prefix(err, "top level (keys: %s)", ae_schema_key_list(&ae_config_schema, keys, sizeof keys));
    }
    return AE_OK;
}

void ae_run_free(ae_run *r)
{
    ae_pretrain_free(r->pretrain);
    ae_model_free(r->model);
    ae_rng_free(r->rng);
    ae_dataset_free(&r->train);
    ae_dataset_free(&r->test);
    ae_dataset_free(&r->val);
    ae_oneclass_free(&r->oneclass);
    ae_cfg_free(r->root);
    memset(r, 0, sizeof *r);
}

/* --- training with per-epoch metrics and checkpoints ------------------------------------ */
static volatile sig_atomic_t g_stop;
static void on_signal(int sig) { (void)sig; g_stop = 1; }

typedef struct epoch_ctx {
    ae_run *r;
    ae_trainer *tr;
    uint64_t hash;
    char metrics[4096], ckpt[4096];
    double *losses;
    long n;
} epoch_ctx;

/* <split>_loss, _mse, _sse (mse x features: the squared error summed over a sample) and _bce of a held-out set after an epoch (a dynamic binarization draws the
 * epoch's bits: pass = epoch). */
static int eval_split(epoch_ctx *c, ae_dataset *ds, long epoch, const char *split, ae_json *j, ae_err *err)
{
    ae_eval ev;
    char k[64];
    ds->pass = (uint64_t)epoch;
    if (ae_evaluate(c->r->model, ds, AE_MODE_EVAL, c->r->eval_batch, &ev, err)) return err->code;
    ae_json_num(j, (snprintf(k, sizeof k, "%s_loss", split), k), ev.loss);
    ae_json_num(j, (snprintf(k, sizeof k, "%s_mse", split), k), ev.mse);
    ae_json_num(j, (snprintf(k, sizeof k, "%s_sse", split), k), ev.mse * (double)ds->d);
    if (isfinite(ev.bce)) ae_json_num(j, (snprintf(k, sizeof k, "%s_bce", split), k), ev.bce);
    if (!c->r->epoch_elbo || !ae_model_has_posterior(c->r->model)) return AE_OK;
    /* outputs.epoch_elbo: the -ELBO with sampled codes (final.json's neg_elbo, every epoch) */
    if (ae_evaluate(c->r->model, ds, AE_MODE_EVAL_SAMPLE, c->r->eval_batch, &ev, err)) return err->code;
    double kl = NAN, rec = ae_model_loss_bernoulli(c->r->model) ? ev.bce : ev.mse;
    for (int q = 0; q < ev.nterms; q++) if (!strcmp(ev.term_name[q], "kl")) kl = ev.term[q];
    ae_json_num(j, (snprintf(k, sizeof k, "%s_neg_elbo", split), k), rec * (double)ds->d + kl);
    return AE_OK;
}

static int on_epoch(void *vctx, const ae_epoch_stats *st, ae_err *err)
{
    epoch_ctx *c = vctx;
    c->losses[c->n++] = st->loss;
    ae_json j;
    ae_json_begin(&j);
    ae_json_int(&j, "epoch", st->epoch);
    ae_json_num(&j, "lr", c->tr->opt->cfg.lr); /* the epoch's (train.schedule) */
    ae_json_num(&j, "train_loss", st->loss);
    for (int q = 0; q < st->nterms; q++) {
        char k[64];
        snprintf(k, sizeof k, "train_%s", st->term_name[q]);
        ae_json_num(&j, k, st->term[q]);
    }
    ae_json_num(&j, "seconds", st->seconds);
    ae_json_num(&j, "samples_per_s", st->samples_per_s);
    long ee = c->r->eval_every; /* outputs.eval_every: every N-th epoch and the last (0: every) */
    int eval = ee <= 1 || st->epoch % ee == 0 || st->epoch == c->r->tc.epochs;
    if (eval && ((c->r->test.n && eval_split(c, &c->r->test, st->epoch, "test", &j, err)) ||
                 (c->r->val.n && eval_split(c, &c->r->val, st->epoch, "val", &j, err)))) {
        ae_json_free(&j);
        return err->code;
    }
    ae_json_end(&j);
    int rc = ae_jsonl_append(c->metrics, j.buf, err);
    ae_json_free(&j);
    long every = c->r->checkpoint_every;
    if (rc == AE_OK && every > 0 && (st->epoch % every == 0 || st->epoch == c->r->tc.epochs))
        rc = ae_checkpoint_save(c->ckpt, c->hash, c->tr, c->losses, c->n, err);
    return rc;
}

static int file_exists(const char *p) { FILE *f = fopen(p, "rb"); if (f) fclose(f); return f != NULL; }

/* Removes "*.tmp.<pid>" files left in dir by a process that no longer runs (killed mid-write:
 * the real file beside it is intact, since temp files only ever replace it by rename). */
static void remove_stale_temps(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *t = strstr(e->d_name, ".tmp.");
        if (!t) continue;
        char *end;
        long pid = strtol(t + 5, &end, 10);
        if (end != t + 5 && !*end && pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
            char p[8448];
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            remove(p);
        }
    }
    closedir(d);
}

int ae_run_file(const char *path, const ae_run_opts *o, ae_err *err)
{
    ae_cfg *root = ae_cfg_load_file(path, err);
    return root ? ae_run_cfg(root, path, o, err) : err->code;
}

/* --- one process per run folder -------------------------------------------------------------
 * A run folder is written by one process at a time: ae_run_cfg takes a write lock on <dir>/.lock
 * (fcntl F_SETLK, never waiting) before it writes anything there. A second process finds it held
 * and SKIPS: AE_EINPUT with "<dir> is being written by process <pid>; nothing done", the folder
 * untouched (skip, not wait: an experiment re-run or a second shard goes on with its other runs
 * instead of blocking; the first process finishes this one). fcntl rather than flock because the
 * kernel then names the holder (F_GETLK) without anything written into the file, and it works on
 * NFS. The lock goes with the process (killed or not); the empty .lock file stays. */
static int lock_folder(const char *dir, int *fd_out, ae_err *err)
{
    char p[4200];
    ae_path_join(p, sizeof p, dir, ".lock");
    *fd_out = -1;
    int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) return ae_errf(err, AE_EIO, "cannot lock '%s': %s", p, strerror(errno));
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(fd, F_SETLK, &fl) == 0) {
        *fd_out = fd;
        return AE_OK;
    }
    int e = errno;
    if (e == ENOLCK || e == ENOSYS || e == EOPNOTSUPP) { /* a filesystem without locks */
        fprintf(stderr, "aelab: warning: cannot lock '%s' (%s): nothing stops a second process from "
                "writing into %s at the same time\n", p, strerror(e), dir);
        close(fd);
        return AE_OK;
    }
    struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    long pid = (e == EACCES || e == EAGAIN) && fcntl(fd, F_GETLK, &q) == 0 && q.l_type != F_UNLCK ? (long)q.l_pid : 0;
    close(fd);
    if (e != EACCES && e != EAGAIN) return ae_errf(err, AE_EIO, "cannot lock '%s': %s", p, strerror(e));
    if (pid > 0) return ae_errf(err, AE_EINPUT, "%s is being written by process %ld; nothing done", dir, pid);
    return ae_errf(err, AE_EINPUT, "%s is being written by another process; nothing done", dir);
}

/* Trains with SIGINT/SIGTERM turned into a clean stop (checkpoint written, AE_EINTERRUPTED). */
static int train_interruptible(ae_run *r, const ae_run_opts *o, ae_trainer *tr, epoch_ctx *ctx, int resumed,
                               ae_err *err)
{
    g_stop = 0;
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    tr->stop = (volatile int *)&g_stop;
    fprintf(stderr, "aelab: %s: %zu samples x %zu features, %zu parameters, %ld epoch%s -> %s%s\n", r->name,
            r->train.n, r->train.d, ae_params_count(ae_model_params(r->model)), r->tc.epochs,
            r->tc.epochs == 1 ? "" : "s", r->out_dir, resumed ? " (resumed)" : "");
    ae_pretrain_io pio = {r->out_dir, r->checkpoint_every, ctx->hash, r->tc.progress, r->name, tr->stop};
    /* a new run: dictionary kernels, warm start, pretraining, the objective's preparation (Deep SVDD's centre) */
    int rc = resumed ? AE_OK : ae_run_dictionary_init(r, err), pre = 0;
    if (rc == AE_OK && !resumed) rc = ae_run_warm_start(r, o, err);
    if (rc == AE_OK && !resumed) /* stopped in pretraining: its own checkpoint holds the progress */
        pre = (rc = ae_pretrain_run(r->pretrain, r->model, &r->train, r->rng, &pio, err)) != AE_OK;
    if (rc == AE_OK && !resumed) rc = ae_objective_prepare(r->model, &r->train, r->eval_batch, err);
    if (rc == AE_OK) rc = ae_train(tr, on_epoch, ctx, err);
    /* train.epochs: 0, the untrained (or pretrained) model: its checkpoint at epoch 0 makes a re-run skip
     * it and lets a longer run start from it */
    if (rc == AE_OK && r->tc.epochs == 0 && r->checkpoint_every > 0)
        rc = ae_checkpoint_save(ctx->ckpt, ctx->hash, tr, ctx->losses, 0, err);
    if (rc == AE_EINTERRUPTED && pre) {
        if (r->checkpoint_every > 0)
            ae_err_prefix(err, "progress saved in pretrain.aelab; run the same command again to resume");
    } else if (rc == AE_EINTERRUPTED) { /* finish cleanly: the state is consistent at a batch boundary */
        ae_err e2 = {0};
        if (r->checkpoint_every > 0 && ae_checkpoint_save(ctx->ckpt, ctx->hash, tr, ctx->losses, ctx->n, &e2))
            fprintf(stderr, "aelab: %s\n", e2.msg);
        else
            ae_err_prefix(err, "checkpoint written to %s; run the same command again to resume", ctx->ckpt);
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    return rc;
}

static int remove_file(const char *path, ae_err *err)
{
    if (remove(path) == 0 || errno == ENOENT) return AE_OK;
    return ae_errf(err, AE_EIO, "cannot remove '%s': %s", path, strerror(errno));
}

/* The folder is locked. Everything is checked (the checkpoint against this config) before the
 * first write, so a refused re-run leaves the folder as it was. final.json is the completion
 * marker: removed before anything else is rewritten, written last by ae_run_outputs. */
static int run_locked(ae_run *r, const ae_run_opts *o, ae_err *err)
{
    char p[4200];
    ae_optim opt;
    memset(&opt, 0, sizeof opt);
    ae_trainer tr;
    memset(&tr, 0, sizeof tr);
    epoch_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.r = r;
    ctx.tr = &tr;
    ctx.hash = ae_config_hash(r->root);
    ae_path_join(ctx.metrics, sizeof ctx.metrics, r->out_dir, "metrics.jsonl");
    ae_path_join(ctx.ckpt, sizeof ctx.ckpt, r->out_dir, "checkpoint.aelab");
    int rc = (ctx.losses = calloc((size_t)r->tc.epochs + 1, sizeof(double))) ? AE_OK
             : ae_errf(err, AE_EINTERNAL, "out of memory");
    if (rc == AE_OK) rc = ae_optim_init(&opt, &r->oc, ae_model_params(r->model), err);
    if (rc == AE_OK) rc = ae_trainer_init(&tr, r->model, &r->train, &r->tc, &opt, r->rng, err);
    int resumed = 0;
    if (rc == AE_OK && r->checkpoint_every > 0 && file_exists(ctx.ckpt))
        resumed = (rc = ae_checkpoint_load(ctx.ckpt, ctx.hash, &tr, ctx.losses, &ctx.n, err)) == AE_OK;
    int trained = resumed && tr.epoch == r->tc.epochs && tr.next_batch == 0;
    if (rc == AE_OK && trained && ae_run_outputs_complete(r->out_dir)) {
        fprintf(stderr, "aelab: %s: finished already (%ld epoch%s, %s); skipped\n", r->name, tr.epoch,
                tr.epoch == 1 ? "" : "s", r->out_dir);
        goto done;
    }
    /* from here on the folder changes */
    if (rc == AE_OK) rc = remove_file(ae_path_join(p, sizeof p, r->out_dir, "final.json"), err);
    if (rc == AE_OK) {
        char *text = ae_cfg_emit_string(r->root);
        rc = text ? ae_write_file_atomic(ae_path_join(p, sizeof p, r->out_dir, "config.yaml"), text,
                                         strlen(text), err)
                  : ae_errf(err, AE_EINTERNAL, "out of memory");
        free(text);
    }
    if (rc == AE_OK) rc = resumed ? ae_jsonl_keep(ctx.metrics, tr.epoch, err) : remove_file(ctx.metrics, err);
    if (rc == AE_OK && trained)
        fprintf(stderr, "aelab: %s: trained already (%ld epoch%s); writing the missing outputs to %s\n", r->name,
                tr.epoch, tr.epoch == 1 ? "" : "s", r->out_dir);
    else if (rc == AE_OK)
        rc = train_interruptible(r, o, &tr, &ctx, resumed, err);
    if (rc == AE_OK) rc = ae_run_outputs(r, ctx.losses, ctx.n, err);
done:
    free(ctx.losses);
    ae_trainer_free(&tr);
    ae_optim_free(&opt);
    return rc;
}

int ae_run_cfg(ae_cfg *root, const char *path, const ae_run_opts *o, ae_err *err)
{
    ae_run r;
    int rc = ae_run_prepare_cfg(&r, root, path, o, err);
    if (rc == AE_OK && o->check_only) {
        rc = ae_cfg_emit(r.root, stdout, err);
        ae_run_free(&r);
        return rc;
    }
    if (rc == AE_OK) rc = ae_run_check_memory(&r, err); /* before any big buffer or file */
    int lock = -1;
    if (rc == AE_OK) rc = ae_mkdirs(r.out_dir, err);
    if (rc == AE_OK) rc = lock_folder(r.out_dir, &lock, err);
    if (rc == AE_OK) {
        remove_stale_temps(r.out_dir);
        rc = run_locked(&r, o, err);
    }
    if (lock >= 0) close(lock); /* releases the lock */
    ae_run_free(&r);
    return rc;
}
