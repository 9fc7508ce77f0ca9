/* The `layer:` key of regularizers (ae_taps.h): reading it, finding the node it names, wording
 * the errors about it. */
#include "ae_taps.h"

#include <stdio.h>
#include <string.h>

const char *ae_reg_who(char *buf, size_t len, const char *where, const char *name)
{
    if (where[0] && where[0] != '<') snprintf(buf, len, "%.160s: %s", where, name);
    else snprintf(buf, len, "%s", name);
    return buf;
}

int ae_reg_tap(const ae_taps *t, const char *layer, const char *who, ae_node **h, int *k, ae_err *err)
{
    *h = NULL;
    *k = -1;
    if (!strcmp(layer, "code")) {
        *h = t->code;
        for (int i = 0; i < t->nhidden; i++)
            if (t->hidden[i] == t->code) *k = i;
        return *h ? AE_OK : ae_errf(err, AE_EINTERNAL, "%s: the model has no code node", who);
    }
    const char *in_model = !strncmp(layer, "model.", 6) ? layer + 6 : layer;
    for (int i = 0; i < t->nhidden; i++) {
        char idx[32];
        snprintf(idx, sizeof idx, "encoder[%d]", i);
        if (!strcmp(layer, t->hidden_name[i]) || !strcmp(in_model, idx)) {
            *h = t->hidden[i];
            *k = i;
            return AE_OK;
        }
    }
    const char *cands[2 * AE_MAX_HIDDEN + 1];
    char idx[AE_MAX_HIDDEN][32], list[2048];
    size_t nc = 0, o = (size_t)snprintf(list, sizeof list, "code");
    cands[nc++] = "code";
    for (int i = 0; i < t->nhidden && o < sizeof list; i++) {
        snprintf(idx[i], sizeof idx[i], "encoder[%d]", i);
        cands[nc++] = t->hidden_name[i];
        if (strcmp(idx[i], t->hidden_name[i])) {
            cands[nc++] = idx[i];
            o += (size_t)snprintf(list + o, sizeof list - o, ", %s (%s)", t->hidden_name[i], idx[i]);
        } else {
            o += (size_t)snprintf(list + o, sizeof list - o, ", %s", idx[i]);
        }
    }
    const char *near = ae_nearest(layer, cands, nc);
    char hint[96] = "";
    if (near) snprintf(hint, sizeof hint, "did you mean '%.63s'? ", near);
    return ae_errf(err, AE_EINPUT, "%s: unknown layer '%s' (%svalid layers: %s)", who, layer, hint,
                   list);
}

int ae_reg_target_read(ae_cfg *spec, ae_reg_target *t, ae_err *err)
{
    const char *layer;
    if (ae_cfg_str(spec, "layer", "code", NULL, &layer, err)) return err->code;
    snprintf(t->layer, sizeof t->layer, "%s", layer);
    ae_cfg_where(spec, t->where, sizeof t->where);
    return AE_OK;
}

int ae_reg_target_key(const ae_key *k, ae_cfg *spec, void *out, ae_err *err)
{
    return ae_reg_target_read(spec, (ae_reg_target *)((char *)out + k->offset), err);
}

int ae_reg_target_tap(const ae_reg_target *t, const ae_build *b, const char *name, char *who, size_t wlen,
                      ae_node **h, int *k)
{
    ae_reg_who(who, wlen, t->where, name);
    return ae_reg_tap(b->taps, t->layer, who, h, k, b->err);
}

