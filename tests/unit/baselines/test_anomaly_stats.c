/* AUPRC (ae_auprc, average precision) and AUROC (ae_auroc) of anomaly scores: hand-computed cases
 * (scikit-learn's values), ties, and random scores with many ties against brute-force references
 * that count over every threshold and every pair. */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "ae_baseline.h"
#include "ae_test.h"

START_TEST(auprc_hand_cases)
{
    const double s[4] = {0.1, 0.4, 0.35, 0.8};
    const int y[4] = {0, 0, 1, 1};
    /* sklearn.metrics.average_precision_score([0,0,1,1], [0.1,0.4,0.35,0.8]) = 0.8333...:
     * 0.8 (P): recall 1/2 at precision 1; 0.4 (N); 0.35 (P): recall 1 at precision 2/3 */
    ck_assert_double_eq_tol(ae_auprc(s, y, 4), 0.5 * 1.0 + 0.5 * 2.0 / 3.0, 4 * DBL_EPSILON);
    /* ties enter together: scores 3 (P), 2 (N), {1 (N), 1 (P)}: 1/2·1 + 0 + 1/2·(2/4) = 0.75 */
    const double t[4] = {1, 1, 2, 3};
    const int p[4] = {0, 7, 0, 1}; /* any nonzero is positive */
    ck_assert_double_eq_tol(ae_auprc(t, p, 4), 0.75, 4 * DBL_EPSILON);
    /* every score tied: the precision of the whole set */
    const double same[5] = {2, 2, 2, 2, 2};
    const int q[5] = {1, 0, 0, 1, 0};
    ck_assert_double_eq_tol(ae_auprc(same, q, 5), 0.4, 4 * DBL_EPSILON);
    /* perfect ranking: 1; worst: the positives last */
    const int up[4] = {0, 0, 1, 1}, down[4] = {1, 1, 0, 0};
    const double r[4] = {0.1, 0.2, 0.3, 0.4};
    ck_assert_double_eq(ae_auprc(r, up, 4), 1.0);
    ck_assert_double_eq_tol(ae_auprc(r, down, 4), 0.5 * (1.0 / 3.0) + 0.5 * (2.0 / 4.0), 4 * DBL_EPSILON);
    const int none[4] = {0, 0, 0, 0}, all[4] = {1, 1, 1, 1};
    ck_assert(isnan(ae_auprc(r, none, 4)));
    ck_assert_double_eq(ae_auprc(r, all, 4), 1.0);
    const double withnan[4] = {0.1, NAN, 0.3, 0.4};
    ck_assert(isnan(ae_auprc(withnan, up, 4)));
}
END_TEST

/* Average precision by its definition: for each distinct score t, highest first, the recall gained
 * at t times the precision of {s >= t}, counted over all samples (O(n^2)). */
static double brute_ap(const double *s, const int *y, size_t n)
{
    size_t npos = 0;
    for (size_t i = 0; i < n; i++) npos += y[i] != 0;
    double ap = 0, prev_r = 0, last = INFINITY;
    for (;;) {
        double t = -INFINITY; /* the next lower distinct score */
        for (size_t i = 0; i < n; i++)
            if (s[i] < last && s[i] > t) t = s[i];
        if (t == -INFINITY) break;
        size_t tp = 0, pp = 0;
        for (size_t i = 0; i < n; i++)
            if (s[i] >= t) { pp++; tp += y[i] != 0; }
        double r = (double)tp / (double)npos;
        ap += (r - prev_r) * (double)tp / (double)pp;
        prev_r = r;
        last = t;
    }
    return ap;
}

/* AUROC by its definition: over every (positive, negative) pair, 1 when the positive scores higher,
 * 1/2 when tied. */
static double brute_auc(const double *s, const int *y, size_t n)
{
    double win = 0, pairs = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (y[i] && !y[j]) {
                pairs += 1;
                win += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0;
            }
    return win / pairs;
}

START_TEST(auprc_auroc_against_brute_force)
{
    srand(12345);
    for (int trial = 0; trial < 200; trial++) {
        size_t n = 2 + (size_t)(rand() % 60);
        double s[64];
        int y[64], npos = 0;
        int levels = 1 + rand() % 6; /* few distinct scores: many ties */
        for (size_t i = 0; i < n; i++) {
            s[i] = (double)(rand() % levels) * 0.25;
            y[i] = rand() % 3 == 0;
            npos += y[i];
        }
        if (npos == 0) y[0] = 1, npos = 1;
        if ((size_t)npos == n) y[0] = 0;
        /* both sum n terms of size <= 1 */
        ck_assert_double_eq_tol(ae_auprc(s, y, n), brute_ap(s, y, n), 4 * (double)n * DBL_EPSILON);
        ck_assert_double_eq_tol(ae_auroc(s, y, n), brute_auc(s, y, n), 4 * (double)n * DBL_EPSILON);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("anomaly_stats");
    TCase *t = tcase_create("anomaly_stats");
    tcase_add_test(t, auprc_hand_cases);
    tcase_add_test(t, auprc_auroc_against_brute_force);
    suite_add_tcase(s, t);
    return ae_test_run(s);
}
