// Browser tests of the experiments list and the runs table, in Debian's Chromium against a real
// `keel server` (see browser.ts). Data is seeded through MLflow's REST API; the assertions are about
// what a person sees: rows, cells, messages, the URL.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ok } from '../helpers/http.js';
import {
  describeInBrowser,
  type SeedRun,
  screenshot,
  seedExperiment,
  seedRun,
  startUiHarness,
  type UiHarness,
} from './browser.js';

/** Names of the rows the runs table shows, in order. */
function rowNames(page: Page): Promise<string[]> {
  return page.locator('.runs-body tr[data-run-id] .run-link').allTextContents();
}

/** Types a filter into the runs table's search box and applies it. */
async function applyFilter(page: Page, filter: string): Promise<void> {
  const box = page.getByRole('combobox', { name: 'Filter runs (MLflow search syntax)' });
  await box.fill(filter);
  await box.press('Enter');
}

describeInBrowser('web UI: experiments and runs (Chromium)', () => {
  let ui: UiHarness;
  let experimentId: string;
  let parentId: string;
  const base = Date.now() - 3_600_000;
  const runs: SeedRun[] = [
    { name: 'baseline', params: { lr: '0.1', optimizer: 'sgd' }, metrics: { acc: 0.42 }, startTime: base },
    {
      name: 'tuned',
      params: { lr: '0.01', optimizer: 'adam' },
      metrics: { acc: 0.91 },
      startTime: base + 1000,
    },
    {
      name: 'wide',
      params: { lr: '0.05', optimizer: 'adam' },
      metrics: { acc: 0.77 },
      startTime: base + 2000,
    },
  ];

  beforeAll(async () => {
    ui = await startUiHarness();
    await seedExperiment(ui.url, 'unrelated-experiment');
    experimentId = await seedExperiment(ui.url, 'churn-classifier');
    for (const run of runs) await seedRun(ui.url, experimentId, run);
    parentId = await seedRun(ui.url, experimentId, {
      name: 'sweep',
      metrics: { acc: 0.3 },
      startTime: base + 3000,
    });
    await seedRun(ui.url, experimentId, {
      name: 'sweep-trial-1',
      params: { lr: '0.2' },
      metrics: { acc: 0.35 },
      startTime: base + 4000,
      parentRunId: parentId,
    });
  });
  afterAll(async () => {
    await ui?.dispose();
  });

  it('lists a created experiment and finds it by name', async () => {
    const page = await ui.open('/experiments');
    const link = page.getByRole('link', { name: 'churn-classifier' });
    await link.waitFor();
    expect(await page.getByRole('link', { name: 'unrelated-experiment' }).count()).toBe(1);
    await screenshot(page, 'experiments');

    await page.getByRole('searchbox', { name: 'Search experiments by name or filter' }).fill('CHURN');
    await expect.poll(() => page.getByRole('link', { name: 'unrelated-experiment' }).count()).toBe(0);
    expect(await link.count()).toBe(1);
    expect(new URL(page.url()).searchParams.get('q')).toBe('CHURN');

    await link.click();
    await page.getByRole('heading', { level: 1, name: 'churn-classifier' }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/experiments/${experimentId}`);
  });

  it('shows the seeded runs, nested runs right under their parent', async () => {
    const page = await ui.open(`/experiments/${experimentId}`);
    await page.locator('.runs-body tr[data-run-id]').first().waitFor();
    // Newest first; the child follows its parent, one level deeper.
    expect(await rowNames(page)).toEqual(['sweep', 'sweep-trial-1', 'wide', 'tuned', 'baseline']);
    const child = page.locator('.runs-body tr[data-run-id]').nth(1);
    expect(await child.getAttribute('data-depth')).toBe('1');
    expect(await page.locator('.runs-body tr[data-run-id]').first().getAttribute('data-run-id')).toBe(
      parentId,
    );

    await page.getByRole('button', { name: 'Hide 1 child run of sweep' }).click();
    await expect.poll(() => rowNames(page)).toEqual(['sweep', 'wide', 'tuned', 'baseline']);

    const first = page.locator('.runs-body tr[data-run-id]').first();
    expect(await first.locator('[data-column="attributes.status"]').textContent()).toBe('Finished');
    expect(await first.locator('[data-column="attributes.user_id"]').textContent()).toBe('ada');
    expect(await first.locator('[data-column="duration"]').textContent()).toBe('1m 0s');
  });

  it('narrows the rows with a filter and keeps it in the URL', async () => {
    const page = await ui.open(`/experiments/${experimentId}`);
    await page.locator('.runs-body tr[data-run-id]').first().waitFor();
    await applyFilter(page, 'metrics.acc > 0.5');
    await expect.poll(() => rowNames(page)).toEqual(['wide', 'tuned']);
    expect(new URL(page.url()).searchParams.get('filter')).toBe('metrics.acc > 0.5');
    expect(await page.locator('.runs-status').textContent()).toContain('2 runs');
  });

  it('suggests keys, then operators, as the filter is typed', async () => {
    const page = await ui.open(`/experiments/${experimentId}`);
    await page.locator('.runs-body tr[data-run-id]').first().waitFor();
    const box = page.getByRole('combobox', { name: 'Filter runs (MLflow search syntax)' });
    await box.pressSequentially('metr');
    const list = page.getByRole('listbox', { name: 'Filter suggestions' });
    await expect.poll(() => list.getByRole('option').allTextContents()).toEqual(['metrics.accmetric']);
    expect(await box.getAttribute('aria-expanded')).toBe('true');
    expect(await box.getAttribute('aria-activedescendant')).toBe(
      await list.getByRole('option', { name: /metrics\.acc/ }).getAttribute('id'),
    );
    await screenshot(page, 'experiments-filter-suggestions');

    await box.press('Enter');
    expect(await box.inputValue()).toBe('metrics.acc ');
    // Now the operators a metric takes; ArrowDown moves, Tab accepts.
    await expect.poll(() => list.getByRole('option').count()).toBe(6);
    await box.press('ArrowDown');
    await box.press('ArrowDown');
    await box.press('ArrowDown');
    await box.press('ArrowDown');
    await box.press('Tab');
    expect(await box.inputValue()).toBe('metrics.acc > ');
    await box.pressSequentially('0.5 ');
    await expect.poll(() => list.getByRole('option').allTextContents()).toEqual(['ANDcombine', 'ORcombine']);
    await box.press('Escape');
    expect(await box.getAttribute('aria-expanded')).toBe('false');
    expect(await box.inputValue()).toBe('metrics.acc > 0.5 ');
    await box.press('Enter');
    await expect.poll(() => rowNames(page)).toEqual(['wide', 'tuned']);
  });

  it("shows the server's message inline for an invalid filter", async () => {
    const page = await ui.open(`/experiments/${experimentId}`);
    await applyFilter(page, 'metrics.acc >> 1');
    const alert = page.locator('.filter-error');
    await alert.waitFor();
    const answer = await fetch(`${ui.url}/api/2.0/mlflow/runs/search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ experiment_ids: [experimentId], filter: 'metrics.acc >> 1' }),
    });
    const error = (await answer.json()) as { error_code: string; message: string };
    expect(error.error_code).toBe('INVALID_PARAMETER_VALUE');
    expect(await alert.locator('p').textContent()).toBe(error.message);
    expect(await alert.locator('mark').textContent()).toBe('>');
    expect(await page.getByRole('combobox', { name: /Filter runs/ }).getAttribute('aria-invalid')).toBe(
      'true',
    );
    expect(await page.locator('.runs-body tr[data-run-id]').count()).toBe(0);
  });

  it('adds a param column from the column picker, and sorts on the server by a header click', async () => {
    const page = await ui.open(`/experiments/${experimentId}`);
    await page.locator('.runs-body tr[data-run-id]').first().waitFor();
    await page.getByRole('button', { name: 'Columns' }).click();
    const dialog = page.getByRole('dialog', { name: 'Choose columns' });
    await dialog.getByRole('group', { name: 'Parameters' }).getByRole('checkbox', { name: 'lr' }).check();
    await page.keyboard.press('Escape');

    const cells = page.locator('.runs-body td[data-column="params.lr"]');
    await expect.poll(() => cells.allTextContents()).toEqual(['—', '0.2', '0.05', '0.01', '0.1']);
    expect(new URL(page.url()).searchParams.getAll('col')).toEqual(['params.lr']);

    await page.getByRole('button', { name: 'Run name' }).click();
    await expect.poll(() => rowNames(page)).toEqual(['baseline', 'sweep', 'sweep-trial-1', 'tuned', 'wide']);
    expect(await page.locator('th[aria-sort]').getAttribute('aria-sort')).toBe('ascending');
    await page.getByRole('button', { name: 'Run name' }).click();
    // Descending; the child run still follows its parent.
    await expect.poll(() => rowNames(page)).toEqual(['wide', 'tuned', 'sweep', 'sweep-trial-1', 'baseline']);
    const query = new URL(page.url()).searchParams;
    expect([query.get('sort'), query.get('dir')]).toEqual(['attributes.run_name', 'desc']);
  });

  it('restores filter, columns and sorting from the URL after a reload', async () => {
    const page = await ui.open(
      `/experiments/${experimentId}?filter=${encodeURIComponent("params.optimizer = 'adam'")}&col=metrics.acc&sort=metrics.acc&dir=asc`,
    );
    await expect.poll(() => rowNames(page)).toEqual(['wide', 'tuned']);
    await page.reload();
    await expect.poll(() => rowNames(page)).toEqual(['wide', 'tuned']);
    expect(await page.locator('.runs-body td[data-column="metrics.acc"]').allTextContents()).toEqual([
      '0.77',
      '0.91',
    ]);
    expect(await page.getByRole('combobox', { name: /Filter runs/ }).inputValue()).toBe(
      "params.optimizer = 'adam'",
    );
    expect(await page.locator('th[aria-sort]').getAttribute('data-column')).toBe('metrics.acc');
  });

  it('links two selected runs to the comparison page', async () => {
    const page = await ui.open(`/experiments/${experimentId}`);
    await page.getByRole('checkbox', { name: 'Select run tuned' }).check();
    await page.getByRole('checkbox', { name: 'Select run wide' }).check();
    const compare = page.getByRole('link', { name: 'Compare 2 runs' });
    await compare.click();
    await page.getByRole('heading', { level: 1, name: 'Compare runs' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/compare');
    expect(new URL(page.url()).searchParams.get('runs')?.split(',')).toHaveLength(2);
  });

  it('switches to the dark theme and remembers it', async () => {
    const page = await ui.open('/experiments');
    const html = page.locator('html');
    expect(await html.getAttribute('data-theme')).toBeNull(); // Following the system until a pick.
    const toggle = page.getByRole('button', { name: /Switch to (dark|light) theme/ });
    const next = (await toggle.getAttribute('aria-label'))?.includes('dark') ? 'dark' : 'light';
    await toggle.click();
    expect(await html.getAttribute('data-theme')).toBe(next);
    await page.reload();
    expect(await html.getAttribute('data-theme')).toBe(next);
    expect(
      await page.getByRole('button', { name: /Switch to (dark|light) theme/ }).getAttribute('aria-label'),
    ).toBe(`Switch to ${next === 'dark' ? 'light' : 'dark'} theme`);
  });

  it('keeps the table virtualized with 2,000 runs and loads more pages on scroll', async () => {
    const bigId = await seedExperiment(ui.url, 'many-runs');
    const names = Array.from({ length: 2000 }, (_, i) => `run-${String(i).padStart(4, '0')}`);
    for (let i = 0; i < names.length; i += 100) {
      await Promise.all(
        names
          .slice(i, i + 100)
          .map((name, j) =>
            ok(ui.url, 'runs/create', { experiment_id: bigId, run_name: name, start_time: base + i + j }),
          ),
      );
    }
    const page = await ui.open(`/experiments/${bigId}`);
    await page.locator('.runs-body tr[data-run-id]').first().waitFor();
    expect((await rowNames(page))[0]).toBe('run-1999');
    expect(await page.locator('.runs-body tr').count()).toBeLessThan(200);
    expect(await page.locator('.runs-status').textContent()).toContain('500 runs loaded');
    await screenshot(page, 'runs-table');

    const scroller = page.locator('.runs-scroll');
    for (let i = 0; i < 6; i++) {
      await scroller.evaluate((element) => element.scrollTo({ top: element.scrollHeight }));
      await page.waitForTimeout(150);
    }
    await expect
      .poll(() => page.locator('.runs-status').textContent(), { timeout: 15_000 })
      .toContain('2,000 runs');
    expect(await page.locator('.runs-body tr').count()).toBeLessThan(200);
    await expect.poll(() => rowNames(page)).toContain('run-0000');
  });
});
