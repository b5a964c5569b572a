// Browser tests of the metric charts (the run page's charts section) and the compare page, in
// Debian's Chromium against a real `keel server` (see browser.ts). Runs, params and metric histories
// are seeded through MLflow's REST API; the assertions are about what a person sees: pixels on the
// chart canvases, the URL after a control changes, highlighted rows, plotted lines and points.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ok } from '../helpers/http.js';
import {
  describeInBrowser,
  screenshot,
  seedExperiment,
  seedRun,
  startUiHarness,
  type UiHarness,
} from './browser.js';

/** Steps of the long run's `loss`: far more than one chart request returns. */
const LONG_STEPS = 20_000;

/** Logs `steps` points of `key` (value `valueAt(step)`, 100 ms apart) through log-batch, 1000 per call. */
async function logHistory(
  url: string,
  runId: string,
  key: string,
  steps: number,
  start: number,
  valueAt: (step: number) => number,
): Promise<void> {
  for (let first = 0; first < steps; first += 1000) {
    const metrics = [];
    for (let step = first; step < Math.min(steps, first + 1000); step++) {
      metrics.push({ key, value: valueAt(step), timestamp: start + step * 100, step });
    }
    await ok(url, 'runs/log-batch', { run_id: runId, metrics });
  }
}

/** The canvas fields the pixel count reads (tsconfig.test.json has no DOM types). */
interface CanvasLike {
  width: number;
  height: number;
  getContext(
    kind: '2d',
  ): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } | null;
}

/** Non-transparent pixels on the canvases of the chart of `metric` (reads them with getImageData). */
function inkedPixels(page: Page, metric: string): Promise<number> {
  return page.locator(`.metric-chart[data-metric="${metric}"] canvas`).evaluateAll((canvases) => {
    let inked = 0;
    for (const element of canvases) {
      const canvas = element as unknown as CanvasLike;
      const context = canvas.getContext('2d');
      if (context === null || canvas.width === 0) continue;
      const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
      for (let i = 3; i < data.length; i += 4) if ((data[i] ?? 0) > 0) inked++;
    }
    return inked;
  });
}

/** Waits until the chart of `metric` has drawn points. */
async function chartDrawn(page: Page, metric: string): Promise<void> {
  await page.locator(`.metric-chart[data-metric="${metric}"][data-chart-state="drawn"]`).waitFor();
}

function query(page: Page): URLSearchParams {
  return new URL(page.url()).searchParams;
}

describeInBrowser('web UI: metric charts and run comparison (Chromium)', () => {
  let ui: UiHarness;
  const ids: string[] = [];
  const base = Date.now() - 7_200_000;

  beforeAll(async () => {
    ui = await startUiHarness();
    const experimentId = await seedExperiment(ui.url, 'image-classifier');
    const runs = [
      {
        name: 'resnet-sgd',
        params: { lr: '0.1', optimizer: 'sgd', layers: '50', seed: '42' },
        steps: LONG_STEPS,
      },
      {
        name: 'resnet-adam',
        params: { lr: '0.01', optimizer: 'adam', layers: '50', seed: '42' },
        steps: 2000,
      },
      {
        name: 'resnet-wide',
        params: { lr: '0.05', optimizer: 'adam', layers: '101', seed: '42' },
        steps: 3000,
      },
    ];
    for (const [index, run] of runs.entries()) {
      const start = base + index * 60_000;
      const id = await seedRun(ui.url, experimentId, {
        name: run.name,
        params: run.params,
        startTime: start,
      });
      const rate = 0.0004 * (index + 1);
      await logHistory(
        ui.url,
        id,
        'loss',
        run.steps,
        start,
        (s) => 0.05 + 2.2 * Math.exp(-rate * s) * (1 + 0.15 * Math.sin(s / 9)),
      );
      await logHistory(
        ui.url,
        id,
        'accuracy',
        200,
        start,
        (s) => (0.6 + 0.1 * index) * (1 - Math.exp(-s / 40)),
      );
      ids.push(id);
    }
  });
  afterAll(async () => {
    await ui?.dispose();
  });

  it("draws every metric of a run from a sample of its history, with the run's name in the legend", async () => {
    const page = await ui.open(`/runs/${ids[0]}?tab=metrics`);
    await chartDrawn(page, 'loss');
    await chartDrawn(page, 'accuracy');
    expect(await inkedPixels(page, 'loss')).toBeGreaterThan(2000);
    expect(await inkedPixels(page, 'accuracy')).toBeGreaterThan(2000);
    // 20,000 logged steps, about 1,000 fetched and drawn.
    const points = Number(
      await page.locator('.metric-chart[data-metric="loss"]').getAttribute('data-points'),
    );
    expect(points).toBeGreaterThan(500);
    expect(points).toBeLessThanOrEqual(1001);
    const legend = page.getByRole('list', { name: 'Runs in the loss chart' });
    expect(await legend.textContent()).toContain('resnet-sgd');
    await page.locator('#charts').scrollIntoViewIfNeeded();
    await screenshot(page, 'run-charts');
  });

  it('keeps the log scale, x axis and smoothing in the URL and redraws', async () => {
    const page = await ui.open(`/runs/${ids[0]}?tab=metrics`);
    await chartDrawn(page, 'loss');
    const before = await inkedPixels(page, 'loss');

    await page.getByRole('checkbox', { name: 'Log scale' }).check();
    await expect.poll(() => query(page).get('log')).toBe('1');
    await page.getByRole('radio', { name: 'Relative time' }).check();
    await expect.poll(() => query(page).get('x')).toBe('relative');
    const slider = page.getByRole('slider', { name: 'Smoothing' });
    await slider.focus();
    await page.keyboard.press('End');
    await expect.poll(() => query(page).get('smooth')).toBe('0.99');
    expect(query(page).get('tab')).toBe('metrics');

    await chartDrawn(page, 'loss');
    await expect.poll(() => inkedPixels(page, 'loss')).toBeGreaterThan(2000);
    expect(await inkedPixels(page, 'loss')).not.toBe(before);
    expect(await page.getByRole('img', { name: /^loss: line chart of 1 run by relative time/ }).count()).toBe(
      1,
    );

    // A reload restores the controls from the URL.
    await page.reload();
    await chartDrawn(page, 'loss');
    expect(await page.getByRole('checkbox', { name: 'Log scale' }).isChecked()).toBe(true);
    expect(await page.getByRole('radio', { name: 'Relative time' }).isChecked()).toBe(true);
  });

  it('zooms by dragging, re-fetching a sample of just the visible steps', async () => {
    const page = await ui.open(`/runs/${ids[0]}?tab=metrics`);
    await chartDrawn(page, 'loss');
    const over = page.locator('.metric-chart[data-metric="loss"] .u-over');
    const box = await over.boundingBox();
    if (box === null) throw new Error('the loss chart has no plot area');
    const zoomed = page.waitForRequest(
      (request) =>
        request.url().includes('get-history-bulk-interval') && request.url().includes('start_step='),
    );
    await page.mouse.move(box.x + box.width * 0.2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    await page.mouse.move(0, 0);
    const request = new URL((await zoomed).url());
    const start = Number(request.searchParams.get('start_step'));
    const end = Number(request.searchParams.get('end_step'));
    // A tenth of the plot's width: about 2,000 of the 20,000 steps.
    expect(start).toBeGreaterThan(2000);
    expect(end - start).toBeGreaterThan(1000);
    expect(end - start).toBeLessThan(4000);
    const reset = page.getByRole('button', { name: 'Reset zoom' });
    await reset.waitFor();
    await expect
      .poll(() => page.locator('.metric-chart[data-metric="loss"] .metric-chart-meta').textContent())
      .toContain('(zoomed)');
    expect(await inkedPixels(page, 'loss')).toBeGreaterThan(2000);
    await reset.click();
    await expect.poll(() => reset.count()).toBe(0);
  });

  it('zooms from the keyboard: + into the middle half, arrows along the steps, - back, 0 to everything', async () => {
    const page = await ui.open(`/runs/${ids[0]}?tab=metrics`);
    await chartDrawn(page, 'loss');
    const plot = page.getByRole('img', { name: /^loss: line chart/ });
    const meta = page.locator('.metric-chart[data-metric="loss"] .metric-chart-meta');
    /** The step range of the next sample request, once it is sent. */
    const nextSample = async (): Promise<[number, number]> => {
      const request = await page.waitForRequest(
        (r) => r.url().includes('get-history-bulk-interval') && r.url().includes('start_step='),
      );
      const url = new URL(request.url());
      return [Number(url.searchParams.get('start_step')), Number(url.searchParams.get('end_step'))];
    };
    const near = ([start, end]: [number, number], expected: [number, number]) => {
      expect(Math.abs(start - expected[0])).toBeLessThanOrEqual(2);
      expect(Math.abs(end - expected[1])).toBeLessThanOrEqual(2);
    };
    await plot.focus();
    // Steps 0–19,999: the middle half, then the middle half of that.
    let sample = nextSample();
    await page.keyboard.press('+');
    const first = await sample;
    near(first, [5000, 15000]);
    await expect.poll(() => meta.textContent()).toContain('(zoomed)');
    sample = nextSample();
    await page.keyboard.press('+');
    near(await sample, [7500, 12500]);
    // Right by a quarter of the 5,000 steps shown.
    sample = nextSample();
    await page.keyboard.press('ArrowRight');
    near(await sample, [8750, 13750]);
    // Back to the first zoom (a move replaces the zoom it moves), then to everything.
    await page.keyboard.press('-');
    await expect
      .poll(() => meta.textContent())
      .toContain(`steps ${first[0].toLocaleString('en-US')}–${first[1].toLocaleString('en-US')}`);
    await page.keyboard.press('0');
    await expect.poll(() => page.getByRole('button', { name: 'Reset zoom' }).count()).toBe(0);
    expect(await meta.textContent()).not.toContain('(zoomed)');
  });

  it('compares runs: overlaid charts, a parameter diff that highlights differing values', async () => {
    const page = await ui.open(`/compare?runs=${ids.join(',')}`);
    await page.getByRole('heading', { level: 1, name: 'Compare runs' }).waitFor();
    await expect
      .poll(() => page.locator('.page-header .subtitle').textContent())
      .toBe('3 runs of image-classifier');
    const cards = page.getByRole('list', { name: 'Compared runs' }).getByRole('listitem');
    expect(await cards.count()).toBe(3);
    await chartDrawn(page, 'loss');
    expect(await inkedPixels(page, 'loss')).toBeGreaterThan(2000);
    const legend = await page.getByRole('list', { name: 'Runs in the loss chart' }).textContent();
    for (const name of ['resnet-sgd', 'resnet-adam', 'resnet-wide']) expect(legend).toContain(name);

    const params = page.getByRole('table', { name: 'Parameters' });
    const row = (key: string) =>
      params.locator('tbody tr').filter({ has: page.locator(`th:text-is("${key}")`) });
    expect(await row('optimizer').getAttribute('data-differs')).toBe('true');
    expect(await row('optimizer').locator('td').allTextContents()).toEqual(['sgd', 'adam', 'adam']);
    expect(await row('seed').getAttribute('data-differs')).toBe('false');
    await screenshot(page, 'compare');

    await page.getByRole('checkbox', { name: 'Only differences' }).check();
    await expect.poll(() => row('seed').count()).toBe(0);
    expect(await row('optimizer').count()).toBe(1);
    expect(query(page).get('diff')).toBe('1');
    expect(query(page).get('runs')).toBe(ids.join(','));
  });

  it('plots params against a chosen metric in parallel coordinates, and any two columns as a scatter', async () => {
    const page = await ui.open(`/compare?runs=${ids.join(',')}`);
    await page.getByRole('heading', { level: 2, name: 'Parallel coordinates' }).waitFor();
    const parallel = page.locator('section[aria-labelledby="compare-parallel"]');
    await parallel.getByRole('combobox', { name: 'Metric' }).selectOption('metrics.accuracy');
    await expect.poll(() => query(page).get('pc')).toBe('accuracy');
    const plot = parallel.getByRole('img', {
      name: /^Parallel coordinates: 3 parameters against accuracy, 3 runs/,
    });
    await plot.waitFor();
    expect(await plot.locator('.pc-metric-axis').getAttribute('data-column')).toBe('metrics.accuracy');
    // lr, layers, optimizer differ; seed does not and is left out.
    expect(await plot.locator('.pc-axis-label').allTextContents()).toEqual([
      'layers',
      'lr',
      'optimizer',
      'accuracy',
    ]);
    const lines = plot.locator('.pc-run path');
    expect(await lines.count()).toBe(3);
    for (const d of await lines.evaluateAll((paths) => paths.map((path) => path.getAttribute('d') ?? ''))) {
      expect(d.match(/[ML]/g)?.length).toBe(4);
    }

    const scatter = page.locator('section[aria-labelledby="compare-scatter"]');
    await scatter.getByRole('combobox', { name: 'X axis' }).selectOption('params.lr');
    await scatter.getByRole('combobox', { name: 'Y axis' }).selectOption('metrics.accuracy');
    await expect.poll(() => query(page).get('sy')).toBe('metrics.accuracy');
    expect(query(page).get('sx')).toBe('params.lr');
    const points = scatter.locator('.scatter-point');
    await expect.poll(() => points.count()).toBe(3);
    // The run with the highest accuracy (resnet-wide) is the highest point; lr 0.01 is leftmost.
    const placed = await points.evaluateAll((groups) =>
      groups.map((group) => {
        const circle = group.querySelector('circle');
        return {
          name: group.querySelector('text')?.textContent ?? '',
          cx: Number(circle?.getAttribute('cx')),
          cy: Number(circle?.getAttribute('cy')),
        };
      }),
    );
    expect([...placed].sort((a, b) => a.cy - b.cy).map((p) => p.name)).toEqual([
      'resnet-wide',
      'resnet-adam',
      'resnet-sgd',
    ]);
    expect([...placed].sort((a, b) => a.cx - b.cx).map((p) => p.name)).toEqual([
      'resnet-adam',
      'resnet-wide',
      'resnet-sgd',
    ]);

    // The selections survive a reload.
    await page.reload();
    await scatter.locator('.scatter-point').first().waitFor();
    expect(await scatter.getByRole('combobox', { name: 'X axis' }).inputValue()).toBe('params.lr');
    expect(await parallel.getByRole('combobox', { name: 'Metric' }).inputValue()).toBe('metrics.accuracy');
  });

  it('explains how to pick runs when none are given', async () => {
    const page = await ui.open('/compare');
    await page.getByRole('region', { name: 'Pick the runs to compare' }).waitFor();
    expect(await page.getByRole('region', { name: 'Pick the runs to compare' }).textContent()).toContain(
      'Compare',
    );
  });
});
