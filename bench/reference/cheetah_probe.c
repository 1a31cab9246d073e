/* MuJoCo half-cheetah statistics probe, the reference for cheetah-probe.ts (ours, on Rapier):
 * the same action sequences and statistics on the gym half_cheetah.xml (docs/results.md, cheetah-dir).
 * build: apt-get install libmujoco-dev && gcc -O2 -o /tmp/cheetah_probe bench/reference/cheetah_probe.c -lmujoco -lm
 * usage: /tmp/cheetah_probe ../shared/anchors/models/half_cheetah.xml frame_skip n_episodes [gym|rllab] [fd_episodes]
 * Velocity: v = (torso qpos[0] after - before)/dt (torso origin, like gym's x_velocity);
 * also vcom = Δ(whole-robot COM x)/dt, and MAML's reward velocity (instantaneous subtree COM vel).
 */
#include <mujoco/mujoco.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long long rs;
static double urand(void) { rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17; return (rs >> 11) * (1.0 / 9007199254740992.0); }
static double nrand(void) { double u = urand(), v = urand(); if (u < 1e-300) u = 1e-300; return sqrt(-2 * log(u)) * cos(2 * M_PI * v); }
static double clip(double x) { return x < -1 ? -1 : x > 1 ? 1 : x; }

static mjModel *m; static mjData *d; static int fs; static double dt; static int H = 200; static int rllabReset = 0;
#define NA 6
/* policy: kind 0 gaussian(+bias vector), 1 sine(f, phases), 2 zero+bias (deterministic) */
typedef struct { int kind; double bias[NA]; double f; double ph[NA]; double std; } Policy;

typedef struct { double meanV, rmsV, meanVcom, meanVmaml, ret, flip, endx; double g[NA]; } Ep;

static void reset(unsigned long long seed) {
  rs = seed * 2654435761ULL + 88172645463325252ULL; for (int i = 0; i < 5; i++) urand();
  mj_resetData(m, d);
  for (int i = 0; i < m->nq; i++) d->qpos[i] = m->qpos0[i] + (rllabReset ? 0.01 * nrand() : -0.1 + 0.2 * urand());
  for (int i = 0; i < m->nv; i++) d->qvel[i] = 0.1 * nrand();
  mj_forward(m, d);
}
static double comx(void) { return d->subtree_com[3 * 1 + 0]; } /* body 1 = torso subtree = whole robot */

/* runs one episode; eps[t][j] recorded for the policy-gradient estimate */
static Ep episode(const Policy *p, unsigned long long seed, double *rewards, double *eps) {
  Ep e; memset(&e, 0, sizeof e);
  reset(seed);
  double v2 = 0;
  for (int t = 0; t < H; t++) {
    double a[NA];
    for (int j = 0; j < NA; j++) {
      double n = 0, raw;
      if (p->kind == 0) { n = nrand() * p->std; raw = p->bias[j] + n; }
      else if (p->kind == 1) raw = sin(2 * M_PI * p->f * t * dt + p->ph[j]);
      else raw = p->bias[j];
      if (eps) eps[t * NA + j] = n;
      a[j] = clip(raw); d->ctrl[j] = a[j];
    }
    double x0 = d->qpos[0], c0 = comx();
    for (int k = 0; k < fs; k++) mj_step(m, d);
    mj_forward(m, d); mj_subtreeVel(m, d);
    double v = (d->qpos[0] - x0) / dt, vc = (comx() - c0) / dt, vm = d->subtree_linvel[3 * 1 + 0];
    double cost = 0; for (int j = 0; j < NA; j++) cost += 0.05 * a[j] * a[j];
    e.meanV += v; v2 += v * v; e.meanVcom += vc; e.meanVmaml += vm;
    double r = vm - cost; e.ret += r; if (rewards) rewards[t] = r;
  }
  e.meanV /= H; e.meanVcom /= H; e.meanVmaml /= H; e.rmsV = sqrt(v2 / H);
  e.flip = fabs(atan2(sin(d->qpos[2]), cos(d->qpos[2]))) > M_PI / 2; e.endx = d->qpos[0];
  return e;
}

static void stats(const char *label, const Policy *p, int n, unsigned long long seed0) {
  double s[6] = {0}, s2[6] = {0};
  for (int i = 0; i < n; i++) {
    Ep e = episode(p, seed0 + i, NULL, NULL);
    double v[6] = {e.meanV, e.rmsV, e.meanVcom, e.meanVmaml, e.ret, e.flip};
    for (int k = 0; k < 6; k++) { s[k] += v[k]; s2[k] += v[k] * v[k]; }
  }
  double mu[6], sd[6];
  for (int k = 0; k < 6; k++) { mu[k] = s[k] / n; sd[k] = sqrt(fmax(0, s2[k] / n - mu[k] * mu[k])); }
  printf("%-34s meanV %7.3f ± %6.3f  rmsV %6.3f  vCOM %7.3f  vMAML %7.3f  ret(+x) %7.1f ± %5.1f  flip %4.2f\n",
         label, mu[0], sd[0], mu[1], mu[2], mu[3], mu[4], sd[4], mu[5]);
}

int main(int argc, char **argv) {
  char err[1000];
  m = mj_loadXML(argv[1], NULL, err, sizeof err);
  if (!m) { fprintf(stderr, "load: %s\n", err); return 1; }
  d = mj_makeData(m);
  fs = argc > 2 ? atoi(argv[2]) : 5;
  int N = argc > 3 ? atoi(argv[3]) : 20;
  rllabReset = argc > 4 && !strcmp(argv[4], "rllab");
  dt = m->opt.timestep * fs;
  printf("MuJoCo %d  timestep %.4f frame_skip %d dt %.3f  H %d  nq %d nv %d nu %d  mass %.2f  reset %s  episodes %d\n",
         mj_version(), m->opt.timestep, fs, dt, H, m->nq, m->nv, m->nu, mj_getTotalmass(m), rllabReset ? "rllab" : "gym", N);
  const char *jn[NA] = {"bthigh", "bshin", "bfoot", "fthigh", "fshin", "ffoot"};
  Policy p; char lab[100];
  /* a, b */
  memset(&p, 0, sizeof p); p.std = 1; stats("gauss", &p, N, 1000);
  for (int j = 0; j < NA; j++) p.bias[j] = 0.3; stats("gauss +0.3 all", &p, N, 1000);
  for (int j = 0; j < NA; j++) p.bias[j] = -0.3; stats("gauss -0.3 all", &p, N, 1000);
  for (int k = 0; k < NA; k++) {
    memset(&p, 0, sizeof p); p.std = 1; p.bias[k] = 0.5; sprintf(lab, "gauss +0.5 %s", jn[k]); stats(lab, &p, N, 1000);
  }
  /* c: sine gaits */
  const char *pn[5] = {"sync", "back0/frontpi", "wave+60deg", "wave-60deg", "oldprobe"};
  for (int f = 1; f <= 4; f++)
    for (int q = 0; q < 5; q++) {
      memset(&p, 0, sizeof p); p.kind = 1; p.f = f;
      for (int j = 0; j < NA; j++)
        p.ph[j] = q == 0 ? 0 : q == 1 ? (j < 3 ? 0 : M_PI) : q == 2 ? j * M_PI / 3 : q == 3 ? -j * M_PI / 3 : (j < 3 ? 0 : M_PI / 2) + 0.5 * j;
      sprintf(lab, "sine %dHz %s", f, pn[q]); stats(lab, &p, N < 5 ? N : 5, 1000);
    }
  /* 3: finite-difference d meanV / d bias (common random numbers), and VPG gradient SNR */
  int M = argc > 5 ? atoi(argv[5]) : 200; double db = 0.1;
  printf("\n-- d meanV / d bias (central difference ±%.2f, %d paired episodes, common random numbers); units m/s per unit action\n", db, M);
  for (int k = -1; k < NA; k++) {
    double s = 0, s2 = 0;
    for (int i = 0; i < M; i++) {
      memset(&p, 0, sizeof p); p.std = 1;
      for (int j = 0; j < NA; j++) if (k < 0 || j == k) p.bias[j] = db;
      Ep ep = episode(&p, 50000 + i, NULL, NULL);
      for (int j = 0; j < NA; j++) if (k < 0 || j == k) p.bias[j] = -db;
      Ep em = episode(&p, 50000 + i, NULL, NULL);
      double g = (ep.meanV - em.meanV) / (2 * db); s += g; s2 += g * g;
    }
    double mu = s / M, sd = sqrt(fmax(0, s2 / M - mu * mu));
    printf("  dV/db %-7s %7.4f ± %.4f (s.e.)\n", k < 0 ? "all" : jn[k], mu, sd / sqrt(M));
  }
  /* gaussian spread of meanV, many episodes */
  {
    double s = 0, s2 = 0, sr = 0, sr2 = 0; memset(&p, 0, sizeof p); p.std = 1;
    for (int i = 0; i < M; i++) { Ep e = episode(&p, 90000 + i, NULL, NULL); s += e.meanV; s2 += e.meanV * e.meanV; sr += e.meanVmaml; sr2 += e.meanVmaml * e.meanVmaml; }
    double mu = s / M, mr = sr / M;
    printf("  gauss meanV over %d eps: mean %.4f sd %.4f   (MAML-vel: mean %.4f sd %.4f)\n", M, mu, sqrt(s2 / M - mu * mu), mr, sqrt(sr2 / M - mr * mr));
  }
  /* VPG gradient of the +x return wrt a state-independent action mean (std 1), score function with time baseline,
   * batches of 20 episodes: mean and sd of the estimate across batches -> SNR of one MAML inner step */
  {
    int B = 20, nb = M / 20; if (nb < 2) nb = 2;
    double *rw = malloc(sizeof(double) * B * H), *ep = malloc(sizeof(double) * B * H * NA);
    double gs[NA] = {0}, gs2[NA] = {0};
    memset(&p, 0, sizeof p); p.std = 1;
    for (int b = 0; b < nb; b++) {
      for (int i = 0; i < B; i++) episode(&p, 200000 + b * B + i, rw + i * H, ep + i * H * NA);
      /* reward-to-go */
      for (int i = 0; i < B; i++) for (int t = H - 2; t >= 0; t--) rw[i * H + t] += rw[i * H + t + 1];
      double g[NA] = {0};
      for (int t = 0; t < H; t++) {
        double base = 0; for (int i = 0; i < B; i++) base += rw[i * H + t]; base /= B;
        for (int i = 0; i < B; i++) for (int j = 0; j < NA; j++) g[j] += ep[(i * H + t) * NA + j] * (rw[i * H + t] - base);
      }
      for (int j = 0; j < NA; j++) { g[j] /= B; gs[j] += g[j]; gs2[j] += g[j] * g[j]; }
    }
    printf("  VPG grad of return(+x) wrt action mean, %d batches of %d eps (true grad = H*dV/db for the velocity part):\n", nb, B);
    for (int j = 0; j < NA; j++) { double mu = gs[j] / nb; printf("    %-7s mean %8.2f  sd/batch %8.2f  SNR %.2f\n", jn[j], mu, sqrt(fmax(0, gs2[j] / nb - mu * mu)), fabs(mu) / sqrt(fmax(1e-12, gs2[j] / nb - mu * mu))); }
  }
  mj_deleteData(d); mj_deleteModel(m);
  return 0;
}
