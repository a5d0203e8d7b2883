// ConsoleIT's browser session: playwright-core drives Debian's headless chromium against a running platform.
// Usage: node console.mjs  (env: WATERSHED_URL, WATERSHED_TOKEN, SCREENSHOTS, CHROMIUM)
// Each step prints one line; the first failure prints its reason and exits 1, leaving a failure screenshot.
import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const url = process.env.WATERSHED_URL;
const token = process.env.WATERSHED_TOKEN;
const shots = process.env.SCREENSHOTS;
const timeout = 30_000;
mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
const page = await context.newPage();
page.setDefaultTimeout(timeout);
const consoleErrors = [];
// a refused request (the forged token, the bad query) is logged by chromium itself; those are expected
page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) consoleErrors.push(m.text()); });
page.on('pageerror', (e) => consoleErrors.push(String(e)));

function check(condition, message) {
  if (!condition) throw new Error(message);
}

async function until(what, probe, ms = timeout) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await probe();
      if (last) return last;
    } catch (e) {
      last = e.message;
    }
    await page.waitForTimeout(200);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
}

async function send(stream, events) {
  const res = await fetch(`${url}/v1/streams/${stream}/events`, {
    method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-ndjson' },
    body: events.map((e) => JSON.stringify(e)).join('\n'),
  });
  check(res.status === 200, `ingest answered ${res.status}: ${await res.text()}`);
}

/** Triggers a run of one model in the runs grid, waits for its new cell to reach {@code state}, opens it; its id. */
async function triggerFromGrid(model, state) {
  const cells = page.locator(`[data-testid^=cell-][data-testid$=-${model}]`);
  // the grid has loaded (the run made before the session is in it) before the model's cells are counted
  await until('the runs grid', async () => (await page.locator('[data-testid^=cell-]').count()) >= 1);
  const before = await cells.count();
  await page.locator('[data-testid=trigger-models]').selectOption([model]);
  await page.locator('[data-testid=trigger]').click();
  const created = await until('the new run in the grid', async () => (await cells.count()) > before ? cells.last() : false);
  const id = (await created.getAttribute('data-testid')).split('-')[1];
  const cell = page.locator(`[data-testid="cell-${id}-${model}"]`);
  await until(`run ${id} to end ${state}`, async () => (await cell.getAttribute('data-state')) === state, 120_000);
  await cell.click();
  return id;
}

const steps = [];
async function step(name, body) {
  const started = Date.now();
  await body();
  steps.push(name);
  console.log(`ok ${name} (${Date.now() - started} ms)`);
}

async function shot(name) {
  await page.waitForTimeout(600); // let ECharts finish its entry animation before the picture
  await page.screenshot({ path: join(shots, `${name}.png`) });
}

try {
  await step('a wrong token is refused with the server\'s reason', async () => {
    await page.goto(`${url}/`);
    await page.locator('[data-testid=token]').fill('wst_AAAAAAAAAAAAAAAA_forged');
    await page.locator('[data-testid=login]').click();
    const error = await page.locator('[data-testid=login-error]').textContent();
    check(/token/i.test(error), `the login error does not explain itself: ${error}`);
    await shot('login');
  });

  await step('the admin token signs in and the overview lists the stream', async () => {
    await page.locator('[data-testid=token]').fill(token);
    await page.locator('[data-testid=login]').click();
    await page.locator('[data-testid="stream-clicks"]').waitFor();
  });

  await step('events/s of the stream rises while events are sent', async () => {
    const eps = page.locator('[data-testid="stream-clicks"] [data-testid=eps]');
    // quiet first (earlier tests' bursts fade within the 10 s window), so the rise is this session's events
    const before = await until('a quiet stream', async () => {
      const v = parseFloat(await eps.textContent());
      return v < 20 ? String(v) : false;
    }).then(parseFloat);
    const pages = ['/', '/search', '/cart', '/checkout', '/product/1', '/product/2'];
    let n = 0;
    const sender = setInterval(() => {
      const batch = [];
      for (let i = 0; i < 40; i++, n++) {
        batch.push({ user: `u${n % 97}`, page: pages[n % pages.length], ts: new Date().toISOString(),
          price: n % 10 === 0 ? 10 + (n % 50) : undefined });
      }
      send('clicks', batch).catch((e) => console.error(e));
    }, 200);
    try {
      const rate = await until('events/s above 100 (200/s are sent)', async () => {
        const v = parseFloat(await eps.textContent());
        return v > 100 ? v : false;
      });
      check(rate > before, `events/s did not rise: ${before} -> ${rate}`);
      console.log(`   events/s ${before} -> ${rate}`);
      // the live view's pipeline shows Flink's backpressure once Flink has sampled its job (every 10 s)
      const backpressure = await until('the pipeline\'s backpressure', async () => {
        const text = await page.locator('[data-testid="pipeline-page_counts"] [data-testid=backpressure]').textContent();
        return /^(ok|low|high) · \d+%$/.test(text.trim()) ? text.trim() : false;
      });
      console.log(`   backpressure of page_counts: ${backpressure}`);
      await shot('overview');
    } finally {
      clearInterval(sender);
    }
  });

  await step('SQL completes table and column names, runs a query and charts it in every type', async () => {
    await page.locator('[data-testid=nav-sql]').click();
    const editor = page.locator('[data-testid=sql-editor] .cm-content');
    await editor.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    await page.keyboard.type('SELECT * FROM raw.cl');
    const completion = page.locator('.cm-tooltip-autocomplete');
    await completion.waitFor();
    const options = await completion.textContent();
    check(options.includes('clicks'), `no completion of raw.clicks: ${options}`);
    await page.keyboard.press('Escape');
    // a column of the table the statement reads, unqualified: SELECT pa… FROM raw.clicks offers page
    await page.evaluate(() => window.__watershedSetSql('SELECT  FROM raw.clicks'));
    await page.keyboard.press('Control+Home');
    for (let i = 0; i < 'SELECT '.length; i++) await page.keyboard.press('ArrowRight');
    await page.keyboard.type('pa');
    await until('page offered', async () => (await completion.textContent()).includes('page'));
    await page.locator('.cm-tooltip-autocomplete li', { hasText: /^page/ }).first().click();
    const completed = await page.evaluate(() => window.__watershedGetSql());
    check(completed === 'SELECT page FROM raw.clicks', `completing a column gave: ${completed}`);
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    await page.keyboard.type('SELECT page, count(*) AS views FROM raw.clicks GROUP BY page ORDER BY views DESC');
    await page.keyboard.press('Escape'); // close the completion list
    await page.locator('[data-testid=run-sql]').click();
    await until('result rows', async () => (await page.locator('[data-testid=results] tbody tr').count()) >= 3);
    const chart = page.locator('[data-testid=chart]');
    for (const type of ['line', 'area', 'scatter', 'pie', 'table', 'bar']) {
      await page.locator(`[data-testid=chart-${type}]`).click();
      await until(`a ${type} chart`, async () => (await chart.getAttribute('data-type')) === type);
      if (type === 'table') {
        await until('the table view\'s rows', async () => (await chart.locator('tbody tr').count()) >= 3);
      } else {
        await until(`the ${type} chart's canvas`, async () => (await chart.locator('canvas').count()) > 0);
        check(parseInt(await chart.getAttribute('data-series'), 10) >= 1, `the ${type} chart has no series`);
      }
    }
    await shot('sql');
  });

  await step('a query is saved to the project and listed', async () => {
    await page.locator('[data-testid=query-name]').fill('views_by_page');
    await page.locator('[data-testid=save-query]').click();
    await page.locator('[data-testid="saved-views_by_page"]').waitFor();
  });

  await step('a bad query shows the engine\'s error', async () => {
    await page.evaluate(() => window.__watershedSetSql('SELECT nope FROM raw.clicks'));
    await page.locator('[data-testid=run-sql]').click();
    const error = await page.locator('[data-testid=sql-error]').textContent();
    check(/nope/i.test(error), `the error does not name the column: ${error}`);
  });

  await step('logs: a search draws its histogram and hits, narrows by a top value, explains a bad query, and a hit opens its row in SQL', async () => {
    const marker = `order-${Date.now()}`;
    const events = [];
    for (let i = 0; i < 40; i++) {
      events.push({ level: ['INFO', 'WARN', 'ERROR', 'DEBUG'][i % 4], service: `svc${i % 3}`, message: `request ${i} served` });
    }
    // markup in a message must show as text around the highlight, never as markup
    events.push({ level: 'ERROR', service: 'payments', message: `checkout failed for ${marker}: card <b>declined</b> & "retried"` });
    await send('logs', events);
    await page.locator('[data-testid=nav-logs]').click();
    const picker = page.locator('[data-testid=logs-stream] option');
    const offered = await until('the stream picker', async () => ((await picker.count()) > 0
      ? (await picker.evaluateAll((os) => os.map((o) => o.value))).join(',') : false));
    check(offered === 'logs', `the picker offers streams without a search index: ${offered}`);
    const query = page.locator('[data-testid=logs-query]');
    await query.fill('failed AND level:ERROR');
    await query.press('Enter');
    await page.locator('[data-testid=logs-live]').click(); // polls until the indexer has committed the events
    const count = page.locator('[data-testid=hit-count]');
    const total = await until('a hit', async () => {
      const n = parseInt(await count.getAttribute('data-total'), 10);
      return n >= 1 ? n : false;
    });
    check(/[?&]q=failed/.test(await page.evaluate(() => location.hash)), 'the query is not in the route');
    const histogram = page.locator('[data-testid=histogram]');
    await until('the histogram\'s bars', async () => (await histogram.locator('canvas').count()) > 0
      && parseInt(await histogram.getAttribute('data-count'), 10) === total);
    check((await count.textContent()).includes(`${total} hit`), `the hit count says: ${await count.textContent()}`);
    // a top value of a keyword field narrows the query to it
    await page.locator('[data-testid=top-value][data-field=service][data-value=payments]').click();
    await until('the query narrowed to service:"payments"', async () => (await query.inputValue()) === 'failed AND level:ERROR AND service:"payments"'
      && parseInt(await count.getAttribute('data-total'), 10) === 1);
    const hit = page.locator('[data-testid=hit]').first();
    check((await hit.locator('mark').first().textContent()) === 'failed', `the highlight marks: ${await hit.locator('mark').allTextContents()}`);
    check((await hit.locator('b').count()) === 0, 'markup from an event was rendered');
    check((await hit.textContent()).includes('card <b>declined</b> & "retried"'), `the message shows as: ${await hit.textContent()}`);
    // a malformed query: its place and reason under the query bar
    await query.fill('level:(ERROR OR');
    await query.press('Enter');
    const error = await page.locator('[data-testid=query-error]').textContent();
    check(/line 1, column 16/.test(error), `the query error does not place the mistake: ${error}`);
    await page.goBack();
    await until('the narrowed search again', async () => parseInt(await count.getAttribute('data-total'), 10) === 1);
    // an absolute range (the last hour, as the time picker fills it in) still holds the hit
    await page.locator('[data-testid=logs-range]').selectOption('absolute');
    await page.locator('[data-testid=logs-apply-range]').click();
    await until('the absolute range in the route', async () => /[?&]from=[^&]+&to=/.test(await page.evaluate(() => location.hash)));
    await until('the hit in the absolute range', async () => parseInt(await count.getAttribute('data-total'), 10) === 1);
    await hit.locator('[data-testid=hit-toggle]').click();
    const detail = await hit.locator('[data-testid=hit-detail]').textContent();
    check(detail.includes(marker) && detail.includes('payments'), `the expanded hit shows: ${detail}`);
    await shot('logs');
    // the hit's row in the lake, on the SQL page: the same event
    await hit.locator('[data-testid=hit-sql]').click();
    const rows = page.locator('[data-testid=results] tbody tr');
    await until('the hit\'s row in the SQL result', async () => (await rows.count()) === 1 && (await rows.first().textContent()).includes(marker));
    const sql = await page.evaluate(() => window.__watershedGetSql());
    check(/^SELECT \* FROM raw\.logs WHERE _partition = \d+ AND _offset = \d+$/.test(sql), `the SQL page was opened with: ${sql}`);
  });

  await step('lineage lays out the graph and focuses a model\'s upstream', async () => {
    await page.locator('[data-testid=nav-lineage]').click();
    const graph = page.locator('[data-testid=lineage-graph]');
    await until('nodes', async () => parseInt(await graph.getAttribute('data-nodes'), 10) >= 6);
    await page.locator('[data-testid=lineage-search]').fill('top_pages');
    await page.locator('[data-testid=lineage-search]').press('Enter');
    const focus = page.locator('[data-testid=lineage-focus]');
    await until('focus on the model', async () => (await focus.getAttribute('data-node')) === 'model:top_pages');
    const upstream = await focus.locator('[data-testid=upstream] [data-node]').evaluateAll((els) => els.map((e) => e.dataset.node));
    check(upstream.includes('table:raw.clicks'), `raw.clicks is not upstream of top_pages: ${upstream}`);
    const downstream = await focus.locator('[data-testid=downstream] [data-node]').evaluateAll((els) => els.map((e) => e.dataset.node));
    check(downstream.includes('table:models.top_pages'), `models.top_pages is not downstream: ${downstream}`);
    await shot('lineage');
  });

  await step('a table shows schema, snapshots, files, time travel and the live tail', async () => {
    await page.goto(`${url}/console/#/tables/raw.clicks`);
    const body = page.locator('[data-testid=tab-body]');
    await page.locator('[data-testid=tab-schema]').click();
    await until('the schema', async () => (await body.textContent()).includes('page'));
    await page.locator('[data-testid=tab-snapshots]').click();
    await until('snapshots', async () => /append/i.test(await body.textContent()));
    // time travel: the oldest snapshot kept shows its own (fewer) rows
    const oldest = body.locator('tr[data-snapshot]').last();
    const oldestId = await oldest.getAttribute('data-snapshot');
    await oldest.click();
    const asOf = page.locator('[data-testid=snapshot-rows]');
    await until('rows as of the oldest snapshot', async () => (await asOf.textContent()).includes(oldestId)
      && (await asOf.locator('tbody tr').count()) >= 1);
    await shot('table-snapshots');
    await page.locator('[data-testid=tab-files]').click();
    await until('files', async () => (await body.textContent()).includes('.parquet'));
    await page.locator('[data-testid=tab-tail]').click();
    await send('clicks', [{ user: 'tail-marker', page: '/tail', ts: new Date().toISOString() }]);
    await until('the new event in the live tail', async () => (await body.textContent()).includes('tail-marker'));
    await shot('table-tail');
    await page.locator('[data-testid=tab-dlq]').click();
    await until('dead letters with reasons', async () => /price/i.test(await body.textContent()));
  });

  await step('a model run triggered from the grid succeeds and shows its log', async () => {
    await page.locator('[data-testid=nav-runs]').click();
    const id = await triggerFromGrid('top_pages', 'success');
    await until('the detail of the run', async () => (await page.locator('[data-testid=run-detail]').textContent()).includes(`#${id}`));
    const log = page.locator('[data-testid=run-detail] [data-testid=run-log]');
    await until('the run log', async () => /success/i.test(await log.textContent()));
  });

  await step('a failed run is retried from failure in the grid', async () => {
    const id = await triggerFromGrid('always_fails', 'failed');
    const log = page.locator('[data-testid=run-detail] [data-testid=run-log]');
    await until('the failing check in the log', async () => /row_count: fail/.test(await log.textContent()));
    await page.locator('[data-testid=retry]').click();
    const failures = async () => ((await log.textContent()).match(new RegExp(`Run ${id} failed`, 'g')) || []).length;
    await until('the retried run to end (failing again, as its check still fails)', async () => (await failures()) >= 2, 120_000);
    check(/queued/.test(await log.textContent()), 'the log does not show the retry queueing the run again');
    await shot('runs');
  });

  await step('a backfill of yesterday and today from the runs page makes a run per day, each succeeding', async () => {
    const cells = page.locator('[data-testid^=cell-][data-testid$=-daily_clicks]');
    const before = await cells.count();
    const now = Date.now();
    const [from, to] = [-1, 0].map((offset) => new Date(now + offset * 86_400_000).toISOString().slice(0, 10));
    await page.locator('[data-testid=backfill-model]').selectOption('daily_clicks');
    await page.locator('[data-testid=backfill-from]').fill(from);
    await page.locator('[data-testid=backfill-to]').fill(to);
    await page.locator('[data-testid=backfill]').click();
    const answer = page.locator('[data-testid=backfill-message], [data-testid=backfill-error]');
    await answer.first().waitFor();
    const message = await answer.first().textContent();
    check(/Created 2 runs/.test(message), `the backfill did not create two runs: ${message}`);
    console.log(`   backfilled ${from} to ${to}`);
    await until('both runs in the grid', async () => (await cells.count()) >= before + 2);
    for (let i = before; i < before + 2; i++) {
      await until(`backfill run ${i - before + 1} to succeed`, async () => (await cells.nth(i).getAttribute('data-state')) === 'success', 120_000);
    }
  });

  await step('a dashboard from dashboards/ draws its panels, refreshes its live view by itself and exports to Grafana', async () => {
    await page.locator('[data-testid=nav-dashboards]').click();
    await page.locator('[data-testid="dashboard-shop"]').click();
    const panels = page.locator('[data-testid=panel]');
    await until('three panels', async () => (await panels.count()) === 3);
    await until('every panel drawn', async () => (await page.locator('[data-testid=panel] [data-testid=chart]').count()) === 3);
    check(await page.locator('[data-testid=panel-error]').count() === 0, 'a panel shows an error');
    // the file sets no refresh: a panel on a live view makes the dashboard rerun its panels every 5 s
    const live = panels.filter({ hasText: 'Live views by page' }).locator('[data-testid=chart]');
    const pagesBefore = parseInt(await live.getAttribute('data-rows'), 10);
    await send('clicks', [{ user: 'live-refresh', page: '/only-in-the-live-view', ts: new Date().toISOString() }]);
    await until('the live view\'s new page on the dashboard, without a click', async () =>
      parseInt(await live.getAttribute('data-rows'), 10) > pagesBefore, 30_000);
    await shot('dashboard');
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('[data-testid=grafana-export]').click()]);
    const grafana = JSON.parse(readFileSync(await download.path(), 'utf8'));
    check(grafana.panels.some((p) => p.type === 'timeseries'), 'the Grafana export has no metric panels');
    console.log(`   grafana export: ${download.suggestedFilename()}, ${grafana.panels.length} panels`);
  });

  check(consoleErrors.length === 0, `the page logged errors: ${consoleErrors.join(' | ')}`);
  console.log(`passed ${steps.length} steps`);
} catch (e) {
  console.log(`FAILED after [${steps.join(', ')}]: ${e.message}`);
  if (consoleErrors.length) console.log(`page errors: ${consoleErrors.join(' | ')}`);
  await page.screenshot({ path: join(shots, 'failure.png') }).catch(() => {});
  process.exitCode = 1;
} finally {
  await browser.close();
}
