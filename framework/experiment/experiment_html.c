/* results.html: one self-contained page per experiment — the results table (columns sortable by a
 * small inline script, readable without it), every figure inline as a PNG data: URI, and each run's
 * resolved config one click away (<details>). No network, no external file. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_report.h"
#include "experiment_internal.h"

#define MAXM AE_EXP_MAX_METRICS

static const char style[] =
    "<style>\n"
    ":root{--fg:#1d2330;--muted:#667085;--line:#e3e6ec;--head:#f5f7fa;--accent:#2f6fde;--best:#0b6b3a}\n"
    "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;color:var(--fg);"
    "margin:0 auto;padding:28px 36px;max-width:1500px}\n"
    "h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 12px;padding-bottom:4px;"
    "border-bottom:1px solid var(--line)}\n"
    ".meta{color:var(--muted);margin:0 0 20px}.meta code{font-size:13px}\n"
    ".wrap{overflow-x:auto;border:1px solid var(--line);border-radius:8px}\n"
    "table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}\n"
    "th,td{padding:7px 9px;border-bottom:1px solid var(--line);text-align:right;vertical-align:top;"
    "white-space:nowrap}\n"
    "thead th{white-space:normal;vertical-align:bottom;min-width:4.5em}\n"
    "thead th{background:var(--head);font-weight:600;position:sticky;top:0}\n"
    "tbody tr:nth-child(even){background:#fafbfc}tbody tr:hover{background:#eef3fd}\n"
    "th:first-child,td:first-child{text-align:left}\n"
    "th.run{font-weight:600}th .dir{color:var(--muted);font-weight:400;margin-left:3px}\n"
    "html.js thead th{cursor:pointer;user-select:none}html.js thead th:hover{color:var(--accent)}\n"
    "thead th[aria-sort=ascending]::after{content:' \\25B2';color:var(--accent);font-size:11px}\n"
    "thead th[aria-sort=descending]::after{content:' \\25BC';color:var(--accent);font-size:11px}\n"
    "td b{color:var(--best)}.ci{color:var(--muted);font-size:12px;display:block}\n"
    ".p{color:var(--muted);font-size:11.5px;display:block}\n"
    ".tag{font-size:11px;color:var(--accent);border:1px solid var(--accent);border-radius:9px;"
    "padding:0 6px;margin-left:6px;font-weight:400}\n"
    "details summary{cursor:pointer;color:var(--accent)}details[open] summary{margin-bottom:6px}\n"
    "pre{background:#f6f8fa;border:1px solid var(--line);border-radius:6px;padding:8px 10px;margin:0;"
    "font-size:12px;line-height:1.35;max-height:420px;overflow:auto;text-align:left;color:var(--fg)}\n"
    ".notes{color:var(--muted);font-size:13px}\n"
    ".figs{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:18px;align-items:start}\n"
    "figure{margin:0;border:1px solid var(--line);border-radius:8px;padding:10px;background:#fff}\n"
    "figure img{max-width:100%;height:auto;display:block;margin:0 auto}\n"
    "figcaption{color:var(--muted);font-size:12.5px;margin-top:6px;text-align:center}\n"
    "</style>\n";

/* Sorting: click a header (again: reverse); NaN/missing last; #sort=KEY or #sort=KEY-desc in the
 * address sorts at load (and lets a headless browser test it). Marks <html class="js">. */
static const char script[] =
    "<script>\n"
    "(function(){\n"
    "document.documentElement.className+=' js';\n"
    "var t=document.getElementById('results'),b=t.tBodies[0],"
    "ths=Array.prototype.slice.call(t.tHead.rows[0].cells);\n"
    "function key(r,i){var c=r.cells[i],v=c.getAttribute('data-v');"
    "if(v===null)return c.getAttribute('data-s')||c.textContent.trim().toLowerCase();"
    "return v===''?NaN:parseFloat(v);}\n"
    "function cmp(a,c,d){if(typeof a==='number'){if(isNaN(a))return isNaN(c)?0:1;if(isNaN(c))return -1;"
    "return d?c-a:a-c;}return (a<c?-1:a>c?1:0)*(d?-1:1);}\n"
    "function sort(i,d){var rows=Array.prototype.slice.call(b.rows),n=0;"
    "rows.forEach(function(r){r.setAttribute('data-i',n++);});"
    "rows.sort(function(x,y){return cmp(key(x,i),key(y,i),d)||x.getAttribute('data-i')-y.getAttribute('data-i');});"
    "rows.forEach(function(r){b.appendChild(r);});"
    "ths.forEach(function(h,j){if(j===i)h.setAttribute('aria-sort',d?'descending':'ascending');"
    "else h.removeAttribute('aria-sort');});}\n"
    "ths.forEach(function(h,i){h.tabIndex=0;function go(){sort(i,h.getAttribute('aria-sort')==='ascending');}"
    "h.addEventListener('click',go);h.addEventListener('keydown',function(e){if(e.key==='Enter')go();});});\n"
    "var m=/^#sort=(.+?)(-desc)?$/.exec(location.hash);\n"
    "if(m)ths.forEach(function(h,i){if(h.getAttribute('data-key')===decodeURIComponent(m[1]))sort(i,!!m[2]);});\n"
    "})();\n"
    "</script>\n";

static void esc(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* A whole binary file (malloc'd, *n bytes); NULL when it cannot be read. */
static unsigned char *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *buf = NULL;
    size_t cap = 0, k;
    *n = 0;
    do {
        if (*n + 65536 > cap) {
            unsigned char *nb = realloc(buf, cap = (*n + 65536) * 2);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        k = fread(buf + *n, 1, 65536, f);
        *n += k;
    } while (k == 65536);
    fclose(f);
    return buf;
}

static void base64(FILE *f, const unsigned char *p, size_t n)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        fputc(a[v >> 18 & 63], f);
        fputc(a[v >> 12 & 63], f);
        fputc(i + 1 < n ? a[v >> 6 & 63] : '=', f);
        fputc(i + 2 < n ? a[v & 63] : '=', f);
    }
}

/* One <figure> for dir/name when it exists; returns 1 when written. */
static int figure(FILE *f, const char *dir, const char *name)
{
    char p[4200];
    size_t n;
    unsigned char *png = read_all(ae_path_join(p, sizeof p, dir, name), &n);
    if (!png) return 0;
    fputs("<figure><img alt=\"", f);
    esc(f, name);
    fputs("\" src=\"data:image/png;base64,", f);
    base64(f, png, n);
    fputs("\"><figcaption>", f);
    esc(f, name);
    fputs("</figcaption></figure>\n", f);
    free(png);
    return 1;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The report's figures in reading order (loss curves, reconstructions, bars by column order), then
 * any other PNG of the folder by name. */
static void figures(FILE *f, const ae_experiment *e, const ae_exp_table *t)
{
    fputs("<h2>Figures</h2>\n<div class=\"figs\">\n", f);
    figure(f, e->dir, "loss_curves.png");
    figure(f, e->dir, "reconstructions.png");
    char name[128];
    for (int m = 0; m < t->nm; m++) {
        snprintf(name, sizeof name, "bars_%s.png", t->metric[m]);
        figure(f, e->dir, name);
    }
    DIR *d = opendir(e->dir);
    char **other = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *de; d && (de = readdir(d));) {
        size_t l = strlen(de->d_name);
        if (l < 5 || strcmp(de->d_name + l - 4, ".png") || !strcmp(de->d_name, "loss_curves.png") ||
            !strcmp(de->d_name, "reconstructions.png") || !strncmp(de->d_name, "bars_", 5))
            continue;
        if (n == cap) {
            char **no = realloc(other, (cap = cap ? 2 * cap : 8) * sizeof *no);
            if (!no) break;
            other = no;
        }
        if (!(other[n] = strdup(de->d_name))) break;
        n++;
    }
    if (d) closedir(d);
    if (n) qsort(other, n, sizeof *other, by_name);
    for (size_t i = 0; i < n; i++) {
        figure(f, e->dir, other[i]);
        free(other[i]);
    }
    free(other);
    fputs("</div>\n", f);
}

/* The run cell: its label, and the config.yaml of its first run that wrote one. */
static void run_cell(FILE *f, const ae_experiment *e, const ae_exp_table *t, const ae_exp_stats *st, size_t r)
{
    char *yaml = NULL;
    for (size_t j = 0; r < e->nruns && !yaml && j < e->njobs; j++) {
        char p[4200];
        if (!strcmp(e->jobs[j].run, t->row[r])) yaml = ae_exp_slurp(ae_path_join(p, sizeof p, e->jobs[j].out,
                                                                                 "config.yaml"));
    }
    fputs("<th scope=\"row\" class=\"run\" data-s=\"", f);
    esc(f, t->row[r]);
    fputs("\">", f);
    const char *tag = st->brow[r] == (int)r ? " <span class=\"tag\">baseline</span>" : "";
    if (yaml) {
        fputs("<details><summary>", f);
        esc(f, t->row[r]);
        fprintf(f, "%s</summary><pre>", tag);
        esc(f, yaml);
        fputs("</pre></details>", f);
    } else {
        esc(f, t->row[r]);
        fputs(tag, f);
    }
    fputs("</th>", f);
    free(yaml);
}

static void value_cell(FILE *f, const ae_exp_table *t, const ae_exp_stats *st, size_t r, int m)
{
    const ae_summary *s = &st->sum[r * MAXM + (size_t)m];
    if (!s->n) {
        fputs("<td data-v=\"\">–</td>", f);
        return;
    }
    char a[32], h[32];
    ae_exp_fmt(a, sizeof a, s->mean);
    ae_exp_fmt(h, sizeof h, (s->ci_hi - s->ci_lo) / 2);
    int best = st->best[m] == (int)r;
    fprintf(f, "<td data-v=\"%.17g\">%s%s%s", s->mean, best ? "<b>" : "", a, best ? "</b>" : "");
    if (s->n > 1 && s->sd > 0) fprintf(f, "<span class=\"ci\"> ± %s</span>", h);
    if (st->brow[r] >= 0 && st->brow[r] != (int)r && s->sd > 0) {
        const ae_exp_cell *c = &t->c[r * MAXM + (size_t)m], *b = &t->c[(size_t)st->brow[r] * MAXM + (size_t)m];
        double p = ae_welch_p(c->v, c->n, b->v, b->n);
        if (isfinite(p)) fprintf(f, p < 0.001 ? "<span class=\"p\">p&lt;0.001</span>" : "<span class=\"p\">p=%.2g</span>",
                                 p);
    }
    fputs("</td>", f);
}

static void table_html(FILE *f, const ae_experiment *e, const ae_exp_table *t, const ae_exp_stats *st)
{
    fputs("<div class=\"wrap\"><table id=\"results\">\n<thead><tr><th data-key=\"run\">run</th>"
          "<th data-key=\"seeds\">seeds</th>", f);
    for (int m = 0; m < t->nm; m++) {
        int d = ae_exp_metric_dir(t->metric[m]);
        fputs("<th data-key=\"", f);
        esc(f, t->metric[m]);
        fprintf(f, "\"%s>", d < 0 ? " title=\"lower is better\"" : d > 0 ? " title=\"higher is better\"" : "");
        for (const char *c = t->metric[m]; *c; c++) { /* long names may break after an underscore */
            char one[2] = {*c, 0};
            esc(f, one);
            if (*c == '_') fputs("<wbr>", f);
        }
        if (d) fprintf(f, "<span class=\"dir\">%s</span>", d < 0 ? "↓" : "↑");
        fputs("</th>", f);
    }
    fputs("</tr></thead>\n<tbody>\n", f);
    for (size_t r = 0; r < t->nrows; r++) {
        fputs("<tr>", f);
        run_cell(f, e, t, st, r);
        fprintf(f, "<td data-v=\"%d\">%d</td>", t->finished[r], t->finished[r]);
        for (int m = 0; m < t->nm; m++) value_cell(f, t, st, r, m);
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table></div>\n", f);
}

int ae_exp_html(const ae_experiment *e, const ae_exp_table *t, const ae_exp_stats *st, int per_sample,
                size_t missing, ae_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return ae_errf(err, AE_EINTERNAL, "out of memory");
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>", f);
    esc(f, e->name);
    fprintf(f, ": results</title>\n%s</head>\n<body>\n<h1>", style);
    esc(f, e->name);
    fprintf(f, "</h1>\n<p class=\"meta\">%zu run%s × seeds = %zu jobs · <code>", e->nruns, e->nruns == 1 ? "" : "s",
            e->njobs);
    esc(f, e->dir);
    fputs("</code> · aelab " AELAB_VERSION "</p>\n<h2>Results</h2>\n", f);
    table_html(f, e, t, st);
    fputs("<p class=\"notes\">mean ± half-width of the 95% confidence interval (Student t) over seeds; "
          "<b>bold</b>: best in its column (↓ lower / ↑ higher is better); p: Welch t-test against the "
          "baseline run. Click a run to see its config; click a column to sort.", f);
    if (per_sample)
        fputs(" loss, recon: runs whose loss is the mean over the features; loss_per_sample, recon_per_sample: "
              "runs trained with loss.reduction: sum.", f);
    if (missing) fprintf(f, " <b>%zu run(s) not finished yet</b>: run the experiment again (or every shard) and "
                         "then <code>aelab report</code>.", missing);
    fputs("</p>\n", f);
    figures(f, e, t);
    fputs(script, f);
    fputs("</body></html>\n", f);
    if (fclose(f)) {
        free(buf);
        return ae_errf(err, AE_EINTERNAL, "out of memory");
    }
    char p[4200];
    int rc = ae_write_file_atomic(ae_path_join(p, sizeof p, e->dir, "results.html"), buf, len, err);
    free(buf);
    return rc;
}
