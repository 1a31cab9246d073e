/**
 * Rapier half-cheetah statistics probe: the same policies and statistics as cheetah_probe.c
 * (MuJoCo), for docs/results.md's cheetah-dir comparison. A benchmark tool, never a test.
 * usage: npx tsx bench/reference/cheetah-probe.ts [--dt 0.05] [--n 20] [--m 200] [--reset gym|rllab]
 *        [--variant base|fric1|damp05|stiff05|armjoint|...comma-joined] [--table 0|1] [--fd 0|1] [--vpg 0|1]
 * Velocity: v = Δ(torso origin x)/dt (rw.rootPos[0]); vCOM = Δ(whole-robot COM x)/dt;
 * vInfo = info.x_velocity (Δ torso body COM x / dt, what cheetah-dir rewards).
 */
import { Rng } from '../../src/core/rng.js';
import { RobotEnv, planarResetPose, unitActionSpec, type RobotDescription } from '../../src/physics/index.js';
import { CHEETAH_OBS_SIZE, HALF_CHEETAH, cheetahResetPose, observeCheetah } from '../../envs/robots/half-cheetah.js';
import { cheetahDirReward } from '../../envs/cheetah-dir.js';

const arg = (k: string, d: string) => { const i = process.argv.indexOf(`--${k}`); return i >= 0 ? process.argv[i + 1] : d; };
const DT = Number(arg('dt', '0.05')), N = Number(arg('n', '20')), M = Number(arg('m', '200')), FDM = Number(arg('fdm', arg('m', '200'))), DB = Number(arg('db', '0.1')), FDJ = arg('fdj', 'all');
const RESET = arg('reset', 'gym'), VARIANT = arg('variant', 'base');
const H = 200, NA = 6;
const SUB = Math.round(DT / 0.01);

function variant(names: string): { robot: RobotDescription; armature?: 'joint' | 'body'; iters?: number } {
  const robot: RobotDescription = structuredClone(HALF_CHEETAH);
  let armature: 'joint' | 'body' | undefined, iters: number | undefined;
  for (const v of names.split(',')) {
    const num = (p: string) => Number(v.slice(p.length));
    if (v === 'base') continue;
    else if (v.startsWith('fric')) { robot.friction = num('fric'); robot.groundFriction = num('fric'); }
    else if (v.startsWith('damp')) robot.bodies.forEach((b) => b.joint && (b.joint.damping *= num('damp')));
    else if (v.startsWith('stiff')) robot.bodies.forEach((b) => b.joint && (b.joint.stiffness = (b.joint.stiffness ?? 0) * num('stiff')));
    else if (v.startsWith('arm') && v !== 'armjoint' && v !== 'armbody') robot.bodies.forEach((b) => b.joint && (b.joint.armature = (b.joint.armature ?? 0) * num('arm')));
    else if (v === 'armjoint') armature = 'joint';
    else if (v === 'armbody') armature = 'body';
    else if (v.startsWith('iters')) iters = num('iters');
    else if (v.startsWith('gear')) robot.actuators.forEach((a) => (a.gear *= num('gear')));
    else throw new Error(`unknown variant ${v}`);
  }
  if (armature) robot.armature = armature;
  return { robot, armature, iters };
}

const { robot, iters } = variant(VARIANT);
const spec = { obsSize: CHEETAH_OBS_SIZE, actSize: NA, ...unitActionSpec(NA), horizon: H, dt: DT, bodyCount: robot.bodies.length };
const env = new RobotEnv({
  family: 'cheetah-probe', robot, spec, substeps: SUB, solverIterations: iters,
  infoKeys: ['dir_reward', 'ctrl_cost', 'x_velocity', 'direction'],
  resetPose: RESET === 'rllab' ? (rng, rw) => planarResetPose(rw, rng, (r) => 0.01 * r.normal(), (r) => 0.1 * r.normal()) : cheetahResetPose,
  observe: observeCheetah,
  reward: (ctx, info) => cheetahDirReward((ctx.comAfter[0] - ctx.comBefore[0]) / ctx.dt, 1, ctx.action, info),
});
const clip = (x: number) => (x < -1 ? -1 : x > 1 ? 1 : x);

interface Policy { kind: 0 | 1; bias: number[]; f: number; ph: number[]; std: number }
const gauss = (bias: number[] = Array(NA).fill(0)): Policy => ({ kind: 0, bias, f: 0, ph: [], std: 1 });
interface Ep { meanV: number; rmsV: number; meanVcom: number; meanVinfo: number; ret: number; flip: number }
const com = new Float64Array(3);

function episode(p: Policy, seed: number, rewards?: Float64Array, eps?: Float64Array): Ep {
  let o = env.reset(seed);
  const rng = new Rng(seed + 7777777);
  const rw = () => env.robotWorld;
  const a = new Float32Array(NA);
  let sv = 0, sv2 = 0, svc = 0, svi = 0, ret = 0;
  for (let t = 0; t < H; t++) {
    for (let j = 0; j < NA; j++) {
      let n = 0, raw: number;
      if (p.kind === 0) { n = rng.normal() * p.std; raw = p.bias[j] + n; } else raw = Math.sin(2 * Math.PI * p.f * t * DT + p.ph[j]);
      if (eps) eps[t * NA + j] = n;
      a[j] = clip(raw);
    }
    const x0 = rw().rootPos[0]; rw().robotCom(com); const c0 = com[0];
    const r = env.step(a);
    const v = (rw().rootPos[0] - x0) / DT; rw().robotCom(com); const vc = (com[0] - c0) / DT;
    sv += v; sv2 += v * v; svc += vc; svi += r.info?.x_velocity ?? NaN; ret += r.reward;
    if (rewards) rewards[t] = r.reward;
    o = r.obs;
  }
  return { meanV: sv / H, rmsV: Math.sqrt(sv2 / H), meanVcom: svc / H, meanVinfo: svi / H, ret, flip: Math.abs(o[1]) > Math.PI / 2 ? 1 : 0 };
}

function stats(label: string, p: Policy, n: number, seed0: number) {
  const keys = ['meanV', 'rmsV', 'meanVcom', 'meanVinfo', 'ret', 'flip'] as const;
  const rs = Array.from({ length: n }, (_, i) => episode(p, seed0 + i));
  const mu = (k: (typeof keys)[number]) => rs.reduce((s, r) => s + r[k], 0) / n;
  const sd = (k: (typeof keys)[number]) => Math.sqrt(Math.max(0, rs.reduce((s, r) => s + r[k] ** 2, 0) / n - mu(k) ** 2));
  const f = (x: number, w: number, d: number) => x.toFixed(d).padStart(w);
  console.log(`${label.padEnd(34)} meanV ${f(mu('meanV'), 7, 3)} ± ${f(sd('meanV'), 6, 3)}  rmsV ${f(mu('rmsV'), 6, 3)}  vCOM ${f(mu('meanVcom'), 7, 3)}  vInfo ${f(mu('meanVinfo'), 7, 3)}  ret(+x) ${f(mu('ret'), 7, 1)} ± ${f(sd('ret'), 5, 1)}  flip ${mu('flip').toFixed(2)}`);
}

const jn = ['bthigh', 'bshin', 'bfoot', 'fthigh', 'fshin', 'ffoot'];
console.log(`Rapier  dt ${DT} substeps ${SUB}  H ${H}  reset ${RESET}  variant ${VARIANT}  episodes ${N}`);
if (arg('table', '1') === '1') {
  stats('gauss', gauss(), N, 1000);
  stats('gauss +0.3 all', gauss(Array(NA).fill(0.3)), N, 1000);
  stats('gauss -0.3 all', gauss(Array(NA).fill(-0.3)), N, 1000);
  for (let k = 0; k < NA; k++) stats(`gauss +0.5 ${jn[k]}`, gauss(jn.map((_, j) => (j === k ? 0.5 : 0))), N, 1000);
  const pn = ['sync', 'back0/frontpi', 'wave+60deg', 'wave-60deg', 'oldprobe'];
  for (let f = 1; f <= 4; f++)
    for (let q = 0; q < 5; q++) {
      const ph = jn.map((_, j) => (q === 0 ? 0 : q === 1 ? (j < 3 ? 0 : Math.PI) : q === 2 ? (j * Math.PI) / 3 : q === 3 ? (-j * Math.PI) / 3 : (j < 3 ? 0 : Math.PI / 2) + 0.5 * j));
      stats(`sine ${f}Hz ${pn[q]}`, { kind: 1, bias: [], f, ph, std: 0 }, Math.min(N, 5), 1000);
    }
}
if (arg('fd', '1') === '1') {
  const db = DB; { const M = FDM;
  console.log(`\n-- d meanV / d bias (central difference ±${db}, ${M} paired episodes, common random numbers); units m/s per unit action`);
  for (let k = -1; k < (FDJ === 'all' ? NA : 0); k++) {
    let s = 0, s2 = 0;
    for (let i = 0; i < M; i++) {
      const b = (x: number) => jn.map((_, j) => (k < 0 || j === k ? x : 0));
      const g = (episode(gauss(b(db)), 50000 + i).meanV - episode(gauss(b(-db)), 50000 + i).meanV) / (2 * db);
      s += g; s2 += g * g;
    }
    const mu = s / M, sd = Math.sqrt(Math.max(0, s2 / M - mu * mu));
    console.log(`  dV/db ${(k < 0 ? 'all' : jn[k]).padEnd(7)} ${mu.toFixed(4).padStart(7)} ± ${(sd / Math.sqrt(M)).toFixed(4)} (s.e.)`);
  }
  }
  let s = 0, s2 = 0, si = 0, si2 = 0;
  for (let i = 0; i < M; i++) { const e = episode(gauss(), 90000 + i); s += e.meanV; s2 += e.meanV ** 2; si += e.meanVinfo; si2 += e.meanVinfo ** 2; }
  console.log(`  gauss meanV over ${M} eps: mean ${(s / M).toFixed(4)} sd ${Math.sqrt(s2 / M - (s / M) ** 2).toFixed(4)}   (info.x_velocity: mean ${(si / M).toFixed(4)} sd ${Math.sqrt(si2 / M - (si / M) ** 2).toFixed(4)})`);
}
if (arg('vpg', '1') === '1') {
  const B = 20, nb = Math.max(2, Math.floor(M / 20));
  const rw = new Float64Array(B * H), ep = new Float64Array(B * H * NA);
  const gs = new Float64Array(NA), gs2 = new Float64Array(NA);
  for (let b = 0; b < nb; b++) {
    for (let i = 0; i < B; i++) episode(gauss(), 200000 + b * B + i, rw.subarray(i * H, (i + 1) * H), ep.subarray(i * H * NA, (i + 1) * H * NA));
    for (let i = 0; i < B; i++) for (let t = H - 2; t >= 0; t--) rw[i * H + t] += rw[i * H + t + 1];
    const g = new Float64Array(NA);
    for (let t = 0; t < H; t++) {
      let base = 0; for (let i = 0; i < B; i++) base += rw[i * H + t]; base /= B;
      for (let i = 0; i < B; i++) for (let j = 0; j < NA; j++) g[j] += ep[(i * H + t) * NA + j] * (rw[i * H + t] - base);
    }
    for (let j = 0; j < NA; j++) { g[j] /= B; gs[j] += g[j]; gs2[j] += g[j] * g[j]; }
  }
  console.log(`  VPG grad of return(+x) wrt action mean, ${nb} batches of ${B} eps:`);
  for (let j = 0; j < NA; j++) {
    const mu = gs[j] / nb, sd = Math.sqrt(Math.max(1e-12, gs2[j] / nb - mu * mu));
    console.log(`    ${jn[j].padEnd(7)} mean ${mu.toFixed(2).padStart(8)}  sd/batch ${sd.toFixed(2).padStart(8)}  SNR ${(Math.abs(mu) / sd).toFixed(2)}`);
  }
}
env.dispose();
