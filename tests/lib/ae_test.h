/* Shared helpers for the Check suites: run a suite without forking, temp folders, gradient checks. */
#ifndef AE_TEST_H
#define AE_TEST_H

#include <check.h>
#include <stddef.h>

/* Runs the suite (CK_NOFORK: oneDNN threads and fork do not mix), returns the process exit code. */
int ae_test_run(Suite *s);
/* The suite's registry: the built-in units (ae_register_builtins), made at the first call and
 * freed by ae_test_run after the suite. Tests that load or register more make their own. */
struct ae_registry *ae_test_registry(void);
/* Makes a fresh empty temp directory (mkdtemp under $TMPDIR or /tmp) and returns its path
 * (static storage per call is NOT shared: the result is malloc'd; caller frees). */
char *ae_test_tmpdir(void);
/* Writes text to dir/name and returns the malloc'd full path. */
char *ae_test_write(const char *dir, const char *name, const char *text);
/* rm -rf path (ae_test_fs.c). */
void ae_test_rm_rf(const char *path);
/* The whole file (up to 1 MiB) as a malloc'd NUL-terminated string, its length in *len if not
 * NULL; NULL when it cannot be read. */
char *ae_test_slurp(const char *path, size_t *len);

/* --- gradient checks ----------------------------------------------------------------------- */
#include "ae_graph.h"
#include "ae_params.h"
#include "ae_rng.h"

/* Compares the analytic gradient of the compiled graph's scalar `loss` w.r.t. every parameter
 * entry (at most `max_per_param` entries each, spread evenly) with central differences of step h
 * (computed in float, compared in double). If rng is not NULL its state is restored before every
 * forward so stochastic ops draw the same noise. Returns the worst |a - n| / max(abs_floor, |a|, |n|)
 * and prints the worst entry. */
double ae_test_gradcheck(ae_graph *g, ae_node *loss, ae_params *ps, ae_rng *rng, float h,
                         int max_per_param, double abs_floor);

/* --- comparing results computed in different orders ------------------------------------------ */
/* Tolerance for two float32 evaluations of one expression whose sums run in different orders (plain
 * vs blocked layouts, AVX2 vs AVX-512 kernels, 1 vs N threads). A chain of reductions with `terms`
 * multiply-adds along its longest path (the sum of each layer's reduction length) moves a result of
 * magnitude about `mag` by at most terms·u·mag per evaluation (Higham's γ_n, u = FLT_EPSILON/2), so
 * two evaluations differ by at most terms·FLT_EPSILON·mag. The bound holds on any ISA; a wrong layout
 * or a dropped term is off by the size of a value, orders of magnitude more. */
double ae_test_tol_reduce(size_t terms, double mag);
/* max |v[i]| over n floats (the `mag` of a tensor). */
double ae_test_absmax(const float *v, size_t n);
double ae_test_absmax_d(const double *v, size_t n);

#endif
