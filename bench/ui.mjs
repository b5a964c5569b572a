// Web UI benchmark (issue 8), in Debian's Chromium (playwright-core, /usr/bin/chromium, headless)
// against a real `keel server` on a temporary SQLite store:
//
// - time to first rows of the runs table of an experiment with 100,000 runs (navigation start →
//   the first row painted), beside the runs/search request that fetches them;
// - scrolling that table: `--scroll` seconds of programmatic scrolling, one step per animation
//   frame, with the frame times requestAnimationFrame sees (dropped = a frame over 1.5 × 16.7 ms);
// - the chart of a 1,000,000-step metric (navigation start → the canvas holds the drawn points),
//   beside the get-history-bulk-interval request it makes.
//
// Seeding: the 100,000 runs (3 params, 2 metrics and the run-name tag each, the rows `runs/create`
// and `runs/log-batch` write) go straight into the server's SQLite file through the store's own
// connection (`openStore` from packages/server/dist, as bench/tracking.mjs does for its 100k-run
// search); through the REST API they would take ~5 minutes at the ~350 runs/s `runs/create` gives on
// 2 vCPUs. The 1,000,000-step metric goes through the REST API: `runs/log-batch`, 1000 points a call.
//
//   node bench/ui.mjs [--runs 100000] [--steps 1000000] [--rounds 3] [--scroll 5]
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { openStore } from '../packages/server/dist/index.js';
import { CHROMIUM_PATH, chromiumLaunchOptions } from '../test/ui/chromium.mjs';
import { api, percentile, ROOT, report, startServer } from './lib.mjs';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '100000' },
    steps: { type: 'string', default: '1000000' },
    rounds: { type: 'string', default: '3' },
    scroll: { type: 'string', default: '5' },
  },
});
const RUNS = Number(args.runs);
const STEPS = Number(args.steps);
const ROUNDS = Number(args.rounds);
const SCROLL_S = Number(args.scroll);

const FRAME_MS = 1000 / 60;
const DROPPED_MS = 1.5 * FRAME_MS;
const LIMITS = { first_rows_ms: 1500, chart_1m_ms: 1000, dropped_frames: 0 };

if (!existsSync(CHROMIUM_PATH))
  throw new Error(`${CHROMIUM_PATH} is missing: npm run setup:system installs it`);
if (!existsSync(join(ROOT, 'packages/web/dist/ui/index.html')))
  throw new Error('the UI is not built: npm run build');

/** Writes `count` finished runs with params, metrics and the run-name tag into the SQLite file. */
async function seedRuns(uri, experimentId, count) {
  const store = openStore(uri);
  const db = store.sqlite;
  const insertRun = db.prepare(
    `insert into runs (run_uuid, name, experiment_id, user_id, status, start_time, end_time, artifact_uri, lifecycle_stage, deleted_time)
     values (?, ?, ?, 'bench', ?, ?, ?, ?, 'active', null)`,
  );
  const insertTag = db.prepare('insert into tags (run_uuid, key, value) values (?, ?, ?)');
  const insertParam = db.prepare('insert into params (run_uuid, key, value) values (?, ?, ?)');
  const insertMetric = db.prepare(
    'insert into metrics (run_uuid, key, step, timestamp, value, is_nan) values (?, ?, ?, ?, ?, 0)',
  );
  const insertLatest = db.prepare(
    'insert into latest_metrics (run_uuid, key, step, timestamp, value, is_nan) values (?, ?, ?, ?, ?, 0)',
  );
  const optimizers = ['adam', 'sgd', 'adamw', 'rmsprop'];
  const now = Date.now();
  const started = performance.now();
  const write = db.transaction((from, to) => {
    for (let i = from; i < to; i++) {
      const runId = randomUUID().replaceAll('-', '');
      const name = `trial-${String(i).padStart(6, '0')}`;
      const start = now - (count - i) * 60_000;
      const status = i % 29 === 0 ? 'FAILED' : 'FINISHED';
      const end = start + 30_000 + (i % 600) * 1000;
      insertRun.run(
        runId,
        name,
        experimentId,
        status,
        start,
        end,
        `mlflow-artifacts:/${experimentId}/${runId}/artifacts`,
      );
      insertTag.run(runId, 'mlflow.runName', name);
      insertParam.run(runId, 'lr', String(10 ** -(1 + (i % 4))));
      insertParam.run(runId, 'optimizer', optimizers[i % optimizers.length]);
      insertParam.run(runId, 'batch_size', String(2 ** (4 + (i % 5))));
      const acc = 0.5 + 0.45 * Math.abs(Math.sin(i));
      for (const [key, value] of [
        ['acc', acc],
        ['loss', 1 - acc + 0.05],
      ]) {
        insertMetric.run(runId, key, 9, end, value);
        insertLatest.run(runId, key, 9, end, value);
      }
    }
  });
  for (let from = 0; from < count; from += 10_000) write(from, Math.min(count, from + 10_000));
  await store.close();
  return (performance.now() - started) / 1000;
}

/** A run with `steps` points of `loss`, logged through the REST API 1000 per `runs/log-batch`. */
async function seedLongMetric(base, steps) {
  const { experiment_id } = await api(base, 'experiments/create', { name: 'bench-ui-long-metric' });
  const start = Date.now() - steps * 10;
  const { run } = await api(base, 'runs/create', {
    experiment_id,
    run_name: 'one-million-steps',
    start_time: start,
    user_id: 'bench',
  });
  const runId = run.info.run_id;
  const started = performance.now();
  let next = 0;
  // Two calls in flight: the server's writer is the limit, not the client.
  await Promise.all(
    [0, 1].map(async () => {
      while (next < steps) {
        const first = next;
        next += 1000;
        const metrics = [];
        for (let step = first; step < Math.min(steps, first + 1000); step++) {
          const value = 0.02 + 2.3 * Math.exp(-step / 150_000) * (1 + 0.1 * Math.sin(step / 500));
          metrics.push({ key: 'loss', value, timestamp: start + step * 10, step });
        }
        await api(base, 'runs/log-batch', { run_id: runId, metrics });
      }
    }),
  );
  await api(base, 'runs/update', { run_id: runId, status: 'FINISHED', end_time: start + steps * 10 });
  return { runId, seconds: (performance.now() - started) / 1000 };
}

/** Installed before the page's scripts: notes when the first run row is in the DOM, then painted. */
function watchFirstRow() {
  const observer = new MutationObserver(() => {
    if (document.querySelector('.runs-body tr[data-run-id]') === null) return;
    observer.disconnect();
    const inDom = performance.now();
    requestAnimationFrame(() =>
      setTimeout(() => {
        window.__keelFirstRow = { inDom, painted: performance.now() };
      }, 0),
    );
  });
  observer.observe(document, { childList: true, subtree: true });
}

/** The duration of the first resource request whose URL contains `part` (ms), or null. */
function requestDuration(page, part) {
  return page.evaluate((p) => {
    const entry = performance.getEntriesByType('resource').find((e) => e.name.includes(p));
    return entry === undefined ? null : Math.round(entry.duration * 10) / 10;
  }, part);
}

/** Scrolls the runs table one step per animation frame for `seconds`; returns the frame times. */
function scrollTable(page, seconds) {
  return page.evaluate(async (durationMs) => {
    const box = document.querySelector('.runs-scroll');
    if (box === null) throw new Error('no .runs-scroll element');
    const frames = [];
    const frameEnds = [];
    const startTop = box.scrollTop;
    await new Promise((resolve) => {
      let last = performance.now();
      const begin = last;
      const step = (now) => {
        frames.push(now - last);
        frameEnds.push(now);
        last = now;
        // About 110 rows a second: a brisk, steady scroll through fresh rows.
        box.scrollTop += 64;
        if (now - begin < durationMs) requestAnimationFrame(step);
        else resolve();
      };
      requestAnimationFrame((now) => {
        last = now;
        requestAnimationFrame(step);
      });
    });
    // Pages of runs that arrived while scrolling, and the dropped frames that ended within 200 ms
    // after one: the cost of taking in 500 more runs, apart from the cost of scrolling itself.
    const arrivals = performance
      .getEntriesByType('resource')
      .filter((e) => e.name.includes('runs/search') && e.responseEnd >= frameEnds[0] - frames[0])
      .map((e) => e.responseEnd);
    const droppedNearArrival = frames.filter(
      (f, i) => f > 25 && arrivals.some((t) => frameEnds[i] >= t && frameEnds[i] - t <= 200),
    ).length;
    return {
      frames,
      scrolledPx: box.scrollTop - startTop,
      rowsInDom: document.querySelectorAll('.runs-body tr').length,
      pagesArrived: arrivals.length,
      droppedNearArrival,
    };
  }, seconds * 1000);
}

/** Non-transparent pixels on the canvases of the chart of `metric`. */
function inkedPixels(page, metric) {
  return page.evaluate((key) => {
    let inked = 0;
    for (const canvas of document.querySelectorAll(`.metric-chart[data-metric="${key}"] canvas`)) {
      const context = canvas.getContext('2d');
      if (context === null || canvas.width === 0) continue;
      const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
      for (let i = 3; i < data.length; i += 4) if (data[i] > 0) inked++;
    }
    return inked;
  }, metric);
}

async function measureTable(browser, base, experimentId) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  try {
    const page = await context.newPage();
    await page.addInitScript(watchFirstRow);
    await page.goto(`${base}/experiments/${experimentId}`, { waitUntil: 'commit' });
    await page.waitForFunction(() => window.__keelFirstRow !== undefined, null, { timeout: 30_000 });
    const firstRow = await page.evaluate(() => window.__keelFirstRow);
    const search = await requestDuration(page, 'runs/search');
    await page.waitForTimeout(500);
    const scroll = await scrollTable(page, SCROLL_S);
    return { firstRow, search, scroll };
  } finally {
    await context.close();
  }
}

/**
 * The limit beside the table's scrolling: the same scroll loop over a static page (a scroll box of
 * plain rows, no script), which shows how smoothly this machine's headless Chromium scrolls at all.
 */
async function measureStaticScroll(browser) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  try {
    const page = await context.newPage();
    const cells =
      '<td>trial-000123</td><td>Finished</td><td>2026-11-22 10:00:00</td><td>5m 12s</td><td>bench</td>';
    await page.setContent(
      `<div class="runs-scroll" style="height:760px;overflow:auto;font:14px system-ui">` +
        `<table><tbody class="runs-body">${`<tr>${cells}</tr>`.repeat(4000)}</tbody></table></div>`,
    );
    return await scrollTable(page, SCROLL_S);
  } finally {
    await context.close();
  }
}

async function measureChart(browser, base, runId) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  try {
    const page = await context.newPage();
    await page.goto(`${base}/runs/${runId}?tab=metrics`, { waitUntil: 'commit' });
    await page.waitForFunction(() => performance.getEntriesByName('keel-chart-drawn').length > 0, null, {
      timeout: 30_000,
    });
    const drawn = await page.evaluate(() => {
      const mark = performance.getEntriesByName('keel-chart-drawn')[0];
      return { ms: mark.startTime, points: mark.detail.points };
    });
    return {
      drawnMs: drawn.ms,
      points: drawn.points,
      pixels: await inkedPixels(page, 'loss'),
      sample: await requestDuration(page, 'get-history-bulk-interval'),
    };
  } finally {
    await context.close();
  }
}

const round1 = (x) => Math.round(x * 10) / 10;
const median = (values) => percentile(values, 50);

const dir = mkdtempSync(join(tmpdir(), 'keel-bench-ui-'));
const uri = `sqlite:///${join(dir, 'keel.db')}`;
const server = await startServer(uri, join(dir, 'artifacts'));
let browser;
try {
  const { experiment_id: experimentId } = await api(server.base, 'experiments/create', {
    name: 'bench-ui-100k',
  });
  const runsSeconds = await seedRuns(uri, experimentId, RUNS);
  console.error(`seeded ${RUNS} runs in ${runsSeconds.toFixed(1)} s`);
  const long = await seedLongMetric(server.base, STEPS);
  console.error(`logged ${STEPS} steps in ${long.seconds.toFixed(1)} s`);

  browser = await chromium.launch(chromiumLaunchOptions());
  const tables = [];
  const charts = [];
  const statics = [];
  for (let round = 0; round < ROUNDS; round++) {
    statics.push(await measureStaticScroll(browser));
    const table = await measureTable(browser, server.base, experimentId);
    tables.push(table);
    const chart = await measureChart(browser, server.base, long.runId);
    charts.push(chart);
    const dropped = table.scroll.frames.filter((f) => f > DROPPED_MS).length;
    console.error(
      `round ${round + 1}: first rows ${round1(table.firstRow.painted)} ms, scroll ${table.scroll.frames.length} frames (${dropped} dropped), chart ${round1(chart.drawnMs)} ms`,
    );
  }

  const firstRows = tables.map((t) => round1(t.firstRow.painted));
  const frames = tables.flatMap((t) => t.scroll.frames);
  const dropped = frames.filter((f) => f > DROPPED_MS).length;
  const chartMs = charts.map((c) => round1(c.drawnMs));
  const staticFrames = statics.flatMap((t) => t.frames);
  const staticDropped = staticFrames.filter((f) => f > DROPPED_MS).length;
  const summary = {
    first_rows: {
      median_ms: median(firstRows),
      worst_ms: Math.max(...firstRows),
      limit_ms: LIMITS.first_rows_ms,
      pass: median(firstRows) <= LIMITS.first_rows_ms,
    },
    scroll: {
      frames: frames.length,
      dropped_frames: dropped,
      dropped_share: Number((dropped / frames.length).toFixed(4)),
      p50_frame_ms: round1(percentile(frames, 50)),
      p95_frame_ms: round1(percentile(frames, 95)),
      worst_frame_ms: round1(Math.max(...frames)),
      frame_budget_ms: round1(FRAME_MS),
      static_page: {
        what: 'the same scroll loop over a static page of plain rows (no script): what this machine allows',
        frames: staticFrames.length,
        dropped_frames: staticDropped,
        dropped_share: Number((staticDropped / staticFrames.length).toFixed(4)),
        p95_frame_ms: round1(percentile(staticFrames, 95)),
      },
      limit: `no frame over ${round1(DROPPED_MS)} ms (1.5 frames at 60 Hz)`,
      pass: dropped <= LIMITS.dropped_frames,
    },
    chart_1m: {
      median_ms: median(chartMs),
      worst_ms: Math.max(...chartMs),
      limit_ms: LIMITS.chart_1m_ms,
      pass: median(chartMs) <= LIMITS.chart_1m_ms,
    },
  };
  summary.pass = summary.first_rows.pass && summary.scroll.pass && summary.chart_1m.pass;
  report('ui', {
    machine: { cpus: cpus().length, platform: process.platform, browser: browser.version() },
    seeding: {
      runs: RUNS,
      runs_how: 'SQL inserts through the store connection (openStore), 10,000 runs per transaction',
      runs_seconds: round1(runsSeconds),
      metric_steps: STEPS,
      metric_how: 'REST runs/log-batch, 1000 points per call, 2 calls in flight',
      metric_seconds: round1(long.seconds),
    },
    rounds: ROUNDS,
    results: {
      first_rows: tables.map((t) => ({
        in_dom_ms: round1(t.firstRow.inDom),
        painted_ms: round1(t.firstRow.painted),
        runs_search_request_ms: t.search,
      })),
      scroll: tables.map((t) => ({
        seconds: SCROLL_S,
        frames: t.scroll.frames.length,
        dropped: t.scroll.frames.filter((f) => f > DROPPED_MS).length,
        p95_frame_ms: round1(percentile(t.scroll.frames, 95)),
        scrolled_px: t.scroll.scrolledPx,
        rows_in_dom: t.scroll.rowsInDom,
        pages_loaded_while_scrolling: t.scroll.pagesArrived,
        dropped_within_200ms_of_a_page: t.scroll.droppedNearArrival,
      })),
      scroll_static_page: statics.map((t) => ({
        frames: t.frames.length,
        dropped: t.frames.filter((f) => f > DROPPED_MS).length,
        p95_frame_ms: round1(percentile(t.frames, 95)),
      })),
      chart_1m: charts.map((c) => ({
        drawn_ms: round1(c.drawnMs),
        points_drawn: c.points,
        canvas_pixels: c.pixels,
        bulk_interval_request_ms: c.sample,
      })),
    },
    summary,
  });
} finally {
  await browser?.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
