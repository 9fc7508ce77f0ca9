/* The memory check before training: the biggest buffers a run will allocate (graph activations
 * and gradients, parameter gradients and optimizer state) against the memory still available. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ae_run.h"

/* One number from a file such as /sys/fs/cgroup/memory.max (or the "key: N kB" line of
 * /proc/meminfo when key is not NULL); -1 when absent or not a number ("max"). */
static double read_number(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[256];
    double v = -1;
    size_t kl = key ? strlen(key) : 0;
    while (fgets(line, sizeof line, f)) {
        if (key && strncmp(line, key, kl)) continue;
        double x;
        if (sscanf(line + kl, " %lf", &x) == 1) v = key ? x * 1024.0 : x;
        break;
    }
    fclose(f);
    return v;
}

/* Bytes this process may still allocate: MemAvailable (else free pages), lowered to what is
 * left under the cgroup's limit (v2 memory.max or v1 memory.limit_in_bytes) when that is less. */
static double available_bytes(const char **source)
{
    double avail = read_number("/proc/meminfo", "MemAvailable:");
    *source = "MemAvailable in /proc/meminfo";
    if (avail < 0) {
        avail = (double)sysconf(_SC_AVPHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
        *source = "free physical memory";
    }
    static const char *const lim[][2] = {{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"},
                                         {"/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                          "/sys/fs/cgroup/memory/memory.usage_in_bytes"}};
    for (int i = 0; i < 2; i++) {
        double max = read_number(lim[i][0], NULL), used = read_number(lim[i][1], NULL);
        if (max > 0 && used >= 0 && max - used < avail) {
            avail = max > used ? max - used : 0;
            *source = "the memory left under this cgroup's limit";
        }
    }
    return avail;
}

static const char *human(double b, char *buf, size_t len)
{
    static const char *const unit[] = {"bytes", "KB", "MB", "GB", "TB", "PB"};
    int u = 0;
    while (b >= 1000.0 && u < 5) b /= 1000.0, u++;
    snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", b, unit[u]);
    return buf;
}

int ae_run_check_memory(ae_run *r, ae_err *err)
{
    const ae_dataset *ev = r->test.n ? &r->test : &r->train;
    int64_t bs = r->tc.batch_size > 0 && (size_t)r->tc.batch_size < r->train.n ? r->tc.batch_size
                                                                             : (int64_t)r->train.n;
    int64_t eb = (size_t)r->eval_batch < ev->n ? r->eval_batch : (int64_t)ev->n;
    double train_f = 0, eval_f = 0;
    if (bs > 0 && ae_model_graph_floats(r->model, bs, AE_MODE_TRAIN, &train_f, err)) return err->code;
    if (eb > 0 && ae_model_graph_floats(r->model, eb, AE_MODE_EVAL, &eval_f, err)) return err->code;
    double params = (double)ae_params_count(ae_model_params(r->model)) * sizeof(float);
    /* still to come: the optimizer's two moments, the two graphs, the trainer's batch copy */
    double acts = (train_f + eval_f) * sizeof(float), state = 2 * params;
    double need = acts + state + (double)bs * (double)r->train.d * sizeof(float);
    const char *source;
    double avail = available_bytes(&source);
    if (avail < 0 || need <= avail) return AE_OK;
    /* already held: parameter values and gradients, the data */
    double held = 2 * params + (double)(r->train.n * r->train.d + r->test.n * r->test.d) * sizeof(float);
    char a[32], b[32], c[32], d[32], e[32];
    return ae_errf(err, AE_EINPUT, "%s: not enough memory: training would need about %s more (activations "
                   "%s for a training batch of %lld and an evaluation batch of %lld, optimizer state %s) "
                   "besides the %s of parameters and data already loaded, but only %s is available (%s); "
                   "make the layers smaller or lower train.batch_size / outputs.eval_batch",
                   r->path, human(need, a, sizeof a), human(acts, b, sizeof b), (long long)bs, (long long)eb,
                   human(state, c, sizeof c), human(held, d, sizeof d), human(avail, e, sizeof e), source);
}
