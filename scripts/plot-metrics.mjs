// Draws a run's training curve (mean return per adaptation stage vs iteration) as a PNG,
// for docs/results.md: node scripts/plot-metrics.mjs <run-dir> <out.png> [title]
// A run trained with --validate-every also gets its checks as dots with ± 1 stderr bars.
// Renders an SVG in Debian's headless Chromium (the one the browser tests use).
import { existsSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [runDir, out, title = runDir] = process.argv.slice(2);
if (!runDir || !out) {
  console.error('usage: node scripts/plot-metrics.mjs <run-dir> <out.png> [title]');
  process.exit(2);
}
const readRows = (file) => readFileSync(join(runDir, file), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const rows = readRows('metrics.jsonl');
const checks = existsSync(join(runDir, 'validation.jsonl')) ? readRows('validation.jsonl') : [];
const stages = Object.keys(rows[0]).filter((k) => /^return\d+$/.test(k));
// MAML adapts by gradient steps; the others (RL², PEARL) by the episodes of a trial.
const labels = JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8')).agent !== 'maml'
  ? stages.map((_, i) => `episode ${i + 1}`)
  : stages.map((_, i) => (i === 0 ? 'before adaptation' : `after ${i} step${i > 1 ? 's' : ''}`));

const W = 720, H = 400, L = 70, R = 20, T = 40, B = 50;
const xs = rows.map((r) => r.iteration);
const ys = [...stages.flatMap((s) => rows.map((r) => r[s])), ...checks.flatMap((c) => stages.flatMap((s, i) => [c[s] - c[`stderr${i}`], c[s] + c[`stderr${i}`]]))];
const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
const px = (x) => L + ((x - x0) / Math.max(1e-9, x1 - x0)) * (W - L - R);
const py = (y) => T + (1 - (y - y0) / Math.max(1e-9, y1 - y0)) * (H - T - B);
const colors = ['#d0603a', '#3a78d0', '#3aa060', '#9050c0'];
const ticks = (a, b, n) => Array.from({ length: n + 1 }, (_, i) => a + ((b - a) * i) / n);
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${title}</text>
${ticks(y0, y1, 5).map((y) => `<line x1="${L}" x2="${W - R}" y1="${py(y)}" y2="${py(y)}" stroke="#eee"/><text x="${L - 6}" y="${py(y) + 4}" text-anchor="end">${y.toFixed(1)}</text>`).join('')}
${ticks(x0, x1, 5).map((x) => `<text x="${px(x)}" y="${H - B + 18}" text-anchor="middle">${Math.round(x)}</text>`).join('')}
<text x="${W / 2}" y="${H - 10}" text-anchor="middle">iteration</text>
<text transform="translate(16 ${H / 2}) rotate(-90)" text-anchor="middle">mean return</text>
${stages.map((s, i) => `<polyline fill="none" stroke="${colors[i % colors.length]}" stroke-width="2" points="${rows.map((r) => `${px(r.iteration)},${py(r[s])}`).join(' ')}"/>`).join('')}
${checks.flatMap((c) => stages.map((s, i) => `<line x1="${px(c.iteration)}" x2="${px(c.iteration)}" y1="${py(c[s] - c[`stderr${i}`])}" y2="${py(c[s] + c[`stderr${i}`])}" stroke="${colors[i % colors.length]}"/><circle cx="${px(c.iteration)}" cy="${py(c[s])}" r="3.5" fill="white" stroke="${colors[i % colors.length]}" stroke-width="2"/>`)).join('')}
${checks.length ? `<text x="${L + 8}" y="${T + 14}">○ validation: ${checks[0].tasks} tasks of their own, ± 1 stderr</text>` : ''}
${labels.map((l, i) => `<rect x="${W - R - 160}" y="${H - B - 10 - (labels.length - i) * 18}" width="12" height="12" fill="${colors[i % colors.length]}"/><text x="${W - R - 142}" y="${H - B - (labels.length - i) * 18}">${l}</text>`).join('')}
</svg>`;

const browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'metarl-plot-')), {
  executablePath: '/usr/bin/chromium',
  headless: true,
  viewport: { width: W, height: H },
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = await browser.newPage();
await page.setContent(`<body style="margin:0">${svg}</body>`);
writeFileSync(out, await page.screenshot({ clip: { x: 0, y: 0, width: W, height: H } }));
await browser.close();
