// Surprise's SVD training loop (surprise/prediction_algorithms/matrix_factorization.pyx,
// SVD.sgd, version 1.1.5) re-implemented in C, with switches for the ways bookrec's `svd`
// differed from it, to test each difference alone on the same split and seeds (issue 17; used
// for the README's "svd beside Surprise's SVD on MovieLens"). Not part of the build.
//
// Build: gcc -O2 -march=native -o /tmp/svd_lab bench/surprise_svd_lab.c -lm
// Usage: /tmp/svd_lab TRAIN.csv TEST.csv SEED INIT PREC ORDER [EPOCHS]
//   CSV: header line, then user,item,rating[,...] with integer ids below 1,000,000.
//   INIT  0 = normal (Box–Muller), 1 = Irwin–Hall(4) from one 32-bit draw (bookrec's)
//   PREC  0 = f64 (Surprise's), 1 = f32 (bookrec's)
//   ORDER the order of each user's ratings (users in first-appearance order, as Surprise):
//         0 = file order (Surprise's), 1 = book index = first appearance (bookrec before the
//         fix), 2 = a random relabelling of the books, 3 = popular books first, 4 = rare first
// Prints test RMSE and MAE (predictions clipped to 0.5–5; unknown users/books get the bias
// fallback, as Surprise). 100 factors, lr 0.005, reg 0.02, init N(0, 0.1²): Surprise's defaults.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <stdint.h>

#define K 100
typedef struct { int u, i; double r; } R;

static int *umap, *imap; static int nu = 0, ni = 0;
static int getid(int *map, int *n, int raw) { if (map[raw] < 0) map[raw] = (*n)++; return map[raw]; }

static R *readcsv(const char *p, int *n, int add) {
  FILE *f = fopen(p, "r"); char line[256]; int cap = 1 << 17; R *v = malloc(cap * sizeof(R)); *n = 0;
  fgets(line, 256, f);
  while (fgets(line, 256, f)) {
    int u, i; double r; sscanf(line, "%d,%d,%lf", &u, &i, &r);
    if (add) { u = getid(umap, &nu, u); i = getid(imap, &ni, i); } else { u = umap[u]; i = imap[i]; }
    v[(*n)++] = (R){u, i, r};
  }
  fclose(f); return v;
}

static uint64_t s64;
static uint64_t nx(void) { s64 ^= s64 << 13; s64 ^= s64 >> 7; s64 ^= s64 << 17; return s64; }
static double unif(void) { return ((nx() >> 11) + 0.5) / 9007199254740992.0; }
static double gauss(int init) {
  if (init == 0) return sqrt(-2 * log(unif())) * cos(2 * M_PI * unif());
  uint32_t x = (uint32_t)(nx() >> 32);
  double s = (x & 0xFF) + ((x >> 8) & 0xFF) + ((x >> 16) & 0xFF) + (x >> 24);
  return (s - 510.0) / sqrt(4.0 * (65536.0 - 1) / 12.0);
}

static int cmpui(const void *a, const void *b) { const R *x = a, *y = b; if (x->u != y->u) return x->u - y->u; return x->i - y->i; }

static int *gkey;
static int cmpkey(const void *a, const void *b) { const R *x = a, *y = b; if (x->u != y->u) return x->u - y->u; if (gkey[x->i] != gkey[y->i]) return gkey[x->i] < gkey[y->i] ? -1 : 1; return x->i - y->i; }
int main(int argc, char **argv) {
  umap = malloc(1000000 * sizeof(int)); imap = malloc(1000000 * sizeof(int));
  memset(umap, -1, 1000000 * sizeof(int)); memset(imap, -1, 1000000 * sizeof(int));
  int ntr, nte; R *tr = readcsv(argv[1], &ntr, 1);
  // test: unknown ids -> -1
  FILE *f = fopen(argv[2], "r"); char line[256]; R *te = malloc(200000 * sizeof(R)); nte = 0; fgets(line, 256, f);
  while (fgets(line, 256, f)) { int u, i; double r; sscanf(line, "%d,%d,%lf", &u, &i, &r); te[nte++] = (R){umap[u], imap[i], r}; }
  int seed = atoi(argv[3]), init = atoi(argv[4]), prec = atoi(argv[5]), order = atoi(argv[6]);
  int epochs = argc > 7 ? atoi(argv[7]) : 20;
  s64 = 0x9E3779B97F4A7C15ULL * (seed + 1); for (int k = 0; k < 10; k++) nx();
  // Surprise: all_ratings is by user (inner id order), within user in file order.
  if (order == 0) { // stable sort by user: emulate with index
    R *t = malloc(ntr * sizeof(R)); int *cnt = calloc(nu + 1, sizeof(int));
    for (int k = 0; k < ntr; k++) cnt[tr[k].u + 1]++;
    for (int u = 0; u < nu; u++) cnt[u + 1] += cnt[u];
    for (int k = 0; k < ntr; k++) t[cnt[tr[k].u]++] = tr[k];
    tr = t;
  } else if (order == 1) qsort(tr, ntr, sizeof(R), cmpui);
  else {
    // key per item: 2 = random relabel, 3 = popularity desc, 4 = popularity asc; sort by (u, key)
    int *cnt = calloc(ni, sizeof(int)); for (int k = 0; k < ntr; k++) cnt[tr[k].i]++;
    int *key = malloc(ni * sizeof(int)); uint64_t save = s64; s64 = 12345 + seed;
    for (int i = 0; i < ni; i++) key[i] = order == 2 ? (int)(nx() >> 33) : order == 3 ? -cnt[i] : cnt[i];
    s64 = save;
    gkey = key; qsort(tr, ntr, sizeof(R), cmpkey);
  }
  double mu = 0; for (int k = 0; k < ntr; k++) mu += tr[k].r; mu /= ntr;
  double lr = 0.005, reg = 0.02;
  if (prec == 0) {
    double *pu = malloc(sizeof(double) * nu * K), *qi = malloc(sizeof(double) * ni * K), *bu = calloc(nu, 8), *bi = calloc(ni, 8);
    for (int k = 0; k < nu * K; k++) pu[k] = 0.1 * gauss(init);
    for (int k = 0; k < ni * K; k++) qi[k] = 0.1 * gauss(init);
    for (int e = 0; e < epochs; e++) for (int k = 0; k < ntr; k++) {
      int u = tr[k].u, i = tr[k].i; double *p = pu + u * K, *q = qi + i * K, d = 0;
      for (int f = 0; f < K; f++) d += q[f] * p[f];
      double err = tr[k].r - (mu + bu[u] + bi[i] + d);
      bu[u] += lr * (err - reg * bu[u]); bi[i] += lr * (err - reg * bi[i]);
      for (int f = 0; f < K; f++) { double a = p[f], b = q[f]; p[f] += lr * (err * b - reg * a); q[f] += lr * (err * a - reg * b); }
    }
    double se = 0, ae = 0;
    for (int k = 0; k < nte; k++) {
      int u = te[k].u, i = te[k].i; double est = mu;
      if (u >= 0) est += bu[u];
      if (i >= 0) est += bi[i];
      if (u >= 0 && i >= 0) for (int f = 0; f < K; f++) est += pu[u * K + f] * qi[i * K + f];
      if (est < 0.5) est = 0.5;
      if (est > 5) est = 5;
      se += (est - te[k].r) * (est - te[k].r); ae += fabs(est - te[k].r);
    }
    printf("%.5f %.5f\n", sqrt(se / nte), ae / nte);
  } else {
    float *pu = malloc(sizeof(float) * nu * K), *qi = malloc(sizeof(float) * ni * K), *bu = calloc(nu, 4), *bi = calloc(ni, 4);
    for (int k = 0; k < nu * K; k++) pu[k] = 0.1 * gauss(init);
    for (int k = 0; k < ni * K; k++) qi[k] = 0.1 * gauss(init);
    float muf = mu, lrf = lr, regf = reg;
    for (int e = 0; e < epochs; e++) for (int k = 0; k < ntr; k++) {
      int u = tr[k].u, i = tr[k].i; float *p = pu + u * K, *q = qi + i * K, d = 0;
      for (int f = 0; f < K; f++) d += q[f] * p[f];
      float err = (float)tr[k].r - (muf + bu[u] + bi[i] + d);
      bu[u] += lrf * (err - regf * bu[u]); bi[i] += lrf * (err - regf * bi[i]);
      for (int f = 0; f < K; f++) { float a = p[f], b = q[f]; p[f] += lrf * (err * b - regf * a); q[f] += lrf * (err * a - regf * b); }
    }
    double se = 0, ae = 0;
    for (int k = 0; k < nte; k++) {
      int u = te[k].u, i = te[k].i; float est = muf;
      if (u >= 0) est += bu[u];
      if (i >= 0) est += bi[i];
      if (u >= 0 && i >= 0) for (int f = 0; f < K; f++) est += pu[u * K + f] * qi[i * K + f];
      if (est < 0.5f) est = 0.5f;
      if (est > 5) est = 5;
      se += (est - te[k].r) * (est - te[k].r); ae += fabs(est - te[k].r);
    }
    printf("%.5f %.5f\n", sqrt(se / nte), ae / nte);
  }
  return 0;
}
