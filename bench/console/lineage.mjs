// bench/run console: how the console's lineage page copes with hundreds of nodes.
// The built console (watershed-console/target/classes/console) is served by a small static server here, which also
// answers the two API calls the page makes (whoami, lineage) with a generated project graph of N nodes shaped like a
// real one (streams -> raw tables -> pipelines -> tables/live views -> models in layers -> dashboards). This measures
// the front end only: the platform's own /v1/lineage is a few milliseconds for such a graph.
// Peer: the same graph laid out by bare dagre in Node (what the page must do at least), same settings as the page.
// Usage: node lineage.mjs CONSOLE_DIR REPORT_MD [SIZES, e.g. 100,300,1000]
import { chromium } from 'playwright-core';
import dagre from '@dagrejs/dagre';
import { createServer } from 'node:http';
import { readFile, writeFile } from 'node:fs/promises';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';
import { execSync } from 'node:child_process';
import os from 'node:os';

const [consoleDir, report, sizesArg] = process.argv.slice(2);
const sizes = (sizesArg || '100,300,1000').split(',').map(Number);
const ROUNDS = 5;

/** A project-shaped DAG of about n nodes: ids and kinds as /v1/lineage gives them. */
function graph(n) {
  const nodes = [];
  const edges = [];
  const add = (kind, name) => { const id = `${kind}:${name}`; nodes.push({ id, kind, name }); return id; };
  let seed = 42;
  const rnd = (k) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % k; };
  const streams = Math.max(2, Math.round(n * 0.1));
  const raw = [];
  for (let i = 0; i < streams; i++) {
    const s = add('stream', `events_${i}`);
    raw.push(add('table', `raw.events_${i}`));
    edges.push({ from: s, to: raw[i] });
  }
  const tables = [...raw];
  for (let i = 0; i < Math.round(n * 0.08); i++) {
    const p = add('pipeline', `enrich_${i}`);
    edges.push({ from: `stream:events_${rnd(streams)}`, to: p });
    const out = i % 3 === 0 ? add('live', `live_${i}`) : add('table', `lake.enriched_${i}`);
    edges.push({ from: p, to: out });
    if (i % 3 !== 0) tables.push(out);
  }
  const dashboards = Math.max(1, Math.round(n * 0.04));
  let m = 0;
  while (nodes.length < n - dashboards) {
    const model = add('model', `model_${m}`);
    const reads = 1 + rnd(3);
    for (let r = 0; r < reads; r++) edges.push({ from: tables[rnd(tables.length)], to: model });
    const out = add('table', `models.model_${m}`);
    edges.push({ from: model, to: out });
    tables.push(out);
    m++;
  }
  for (let d = 0; d < dashboards; d++) {
    const dash = add('dashboard', `board_${d}`);
    for (let r = 0; r < 3; r++) edges.push({ from: tables[tables.length - 1 - rnd(Math.min(40, tables.length))], to: dash });
  }
  const seen = new Set();
  return { nodes, edges: edges.filter((e) => { const k = e.from + '>' + e.to; if (seen.has(k)) return false; seen.add(k); return true; }) };
}

/** The page's own dagre settings (Lineage.jsx), without rendering. */
function bareLayout(g) {
  const started = performance.now();
  const d = new dagre.graphlib.Graph();
  // the page's ranker choice (Lineage.jsx: network simplex up to 250 nodes, tight tree beyond)
  d.setGraph({ rankdir: 'LR', nodesep: 16, ranksep: 90, marginx: 24, marginy: 24, ranker: g.nodes.length > 250 ? 'tight-tree' : 'network-simplex' });
  d.setDefaultEdgeLabel(() => ({}));
  for (const node of g.nodes) d.setNode(node.id, { width: Math.min(240, Math.max(36, node.name.length * 7 + 16)), height: 34 });
  for (const e of g.edges) d.setEdge(e.from, e.to);
  dagre.layout(d);
  return performance.now() - started;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };
let current = graph(10);
const server = createServer(async (req, res) => {
  const path = new URL(req.url, 'http://x').pathname;
  if (path === '/v1/whoami') return json(res, { user: 'bench', admin: true, roles: ['admin'], grants: [] });
  if (path === '/v1/lineage') return json(res, current);
  if (path.startsWith('/v1/')) return json(res, { streams: [], pipelines: [], models: [], alerts: [], tables: [], runs: [] });
  const file = normalize(join(consoleDir, path.replace(/^\/console\/?/, '') || 'index.html'));
  if (!file.startsWith(normalize(consoleDir)) || !existsSync(file)) { res.writeHead(404); return res.end(); }
  res.writeHead(200, { 'Content-Type': types[extname(file)] || 'application/octet-stream' });
  res.end(await readFile(file));
});
function json(res, body) {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const rows = [];
try {
  for (const n of sizes) {
    const g = graph(n);
    current = g;
    const target = g.nodes.find((x) => x.kind === 'model' && x.name === 'model_' + Math.floor(n / 4)) || g.nodes[g.nodes.length - 1];
    const load = [];
    const focus = [];
    const peer = [];
    let heap = 0;
    for (let round = 0; round < ROUNDS; round++) {
      peer.push(bareLayout(g));
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      await page.addInitScript(() => sessionStorage.setItem('watershed.token', 'wst_BENCHBENCHBENCHBE_bench'));
      await page.goto(`${base}/console/#/overview`);
      await page.locator('[data-testid=nav-lineage]').waitFor();
      let t0 = Date.now();
      await page.evaluate(() => { location.hash = '#/lineage'; });
      await page.locator(`[data-testid=lineage-graph][data-nodes="${g.nodes.length}"]`).waitFor({ timeout: 120_000 });
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      load.push(Date.now() - t0);
      t0 = Date.now();
      await page.locator('[data-testid=lineage-search]').fill(target.name);
      await page.locator('[data-testid=lineage-search]').press('Enter');
      await page.locator(`[data-testid=lineage-focus][data-node="${target.id}"]`).waitFor({ timeout: 60_000 });
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      focus.push(Date.now() - t0);
      const cdp = await context.newCDPSession(page);
      await cdp.send('Performance.enable');
      const metrics = (await cdp.send('Performance.getMetrics')).metrics;
      heap = Math.max(heap, metrics.find((x) => x.name === 'JSHeapUsedSize').value);
      await context.close();
    }
    const row = { n: g.nodes.length, edges: g.edges.length, load: median(load), focus: median(focus), peer: median(peer), heap,
      loads: load, focuses: focus };
    rows.push(row);
    console.log(JSON.stringify(row));
  }
} finally {
  await browser.close();
  server.close();
}

const commit = execSync('git rev-parse --short HEAD').toString().trim();
const chromiumVersion = execSync(`${process.env.CHROMIUM || '/usr/bin/chromium'} --version 2>/dev/null || true`).toString().trim();
const fmt = (x) => Math.round(x).toLocaleString('en-US');
const md = [
  `Generated by \`bench/run console\` (\`bench/console/lineage.mjs\`) on ${new Date().toISOString().slice(0, 10)} at commit ${commit}.`,
  `The built console in ${chromiumVersion.split(' built')[0] || 'chromium'} (headless, 1280×800), on a generated project graph; ` +
    `median of ${ROUNDS} fresh page loads each. *Open* is from switching to the lineage page to the graph drawn (fetch, ` +
    'dagre layout, ECharts canvas); *focus* is from typing a model\'s name to its upstream and downstream lit and listed. ' +
    'The peer is bare dagre laying out the same graph with the same settings in Node, with no drawing.',
  '',
  `Node ${process.version}, Chromium headless.`,
  '',
  '| Nodes | Edges | Open, ms | Focus, ms | Bare dagre layout, ms (peer) | Open ÷ peer | JS heap after, MB |',
  '|---|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${fmt(r.n)} | ${fmt(r.edges)} | ${fmt(r.load)} | ${fmt(r.focus)} | ${fmt(r.peer)} | ${(r.load / Math.max(1, r.peer)).toFixed(1)} | ${(r.heap / 1048576).toFixed(0)} |`),
  '',
  'Reproduce: `bench/run console [SIZES]` (default 100,300,1000).',
].join('\n');
const begin = '<!-- generated by ConsoleBenchmark -->\n';
const end = '<!-- end ConsoleBenchmark -->';
let text = existsSync(report) ? readFileSync(report, 'utf8') : '# Benchmarks\n';
const from = text.indexOf(begin);
const to = text.indexOf(end);
const provenance = `_Run at commit \`${process.env.BENCH_COMMIT || 'unknown'}\` on ${new Date().toISOString().slice(0, 10)}; ` +
  `${os.cpus().length} cores (${os.cpus()[0]?.model?.trim() || 'unknown CPU'}), ${Math.floor(os.totalmem() / 2 ** 30)} GiB RAM, ` +
  `${os.type()} ${os.release()}._\n\n`;
const section = begin + provenance + md + '\n' + end;
const largest = rows[rows.length - 1];
if (process.env.BENCH_HEADLINES) {
  appendFileSync(process.env.BENCH_HEADLINES, ['console', `Open the lineage page with ${fmt(largest.n)} nodes (peer: bare dagre layout)`,
    `${fmt(largest.load)} ms`, `${fmt(largest.peer)} ms`, (largest.load / Math.max(1, largest.peer)).toFixed(2), '— (time)'].join('\t') + '\n');
}
text = from >= 0 && to > from ? text.slice(0, from) + section + text.slice(to + end.length)
  : text.trimEnd() + '\n\n## Console: the lineage graph with hundreds of nodes\n\n' + section + '\n';
await writeFile(report, text);
console.log(md);
