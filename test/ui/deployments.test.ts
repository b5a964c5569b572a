// Browser tests of the deployment pages (/deployments, /deployments/:name) in Debian's Chromium
// against a real `keel server` (see browser.ts): two versions of a real ONNX model are registered,
// a deployment splits traffic between them, and calls are sent to it; the tests check the routes and
// weights, the state, the live traffic from /metrics, and the prediction records table and its filters.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { KeelClient } from '../../packages/sdk/src/index.js';
import { waitFor } from '../helpers/keel-process.js';
import { FEATURES, writeOnnxModelDir } from '../helpers/onnx-model-dir.js';
import { describeInBrowser, screenshot, startUiHarness, type UiHarness } from './browser.js';

/** Calls deployment `iris`'s MLflow endpoint with one row; `arm` picks the route. */
async function invoke(url: string, id: string, caller: string, arm: string, seed: number): Promise<void> {
  const row = Array.from({ length: FEATURES }, (_, c) => Math.round(Math.sin(seed + c) * 1000) / 1000);
  const response = await fetch(`${url}/deployments/iris/invocations`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-request-id': id,
      'x-keel-user': caller,
      'x-keel-route': arm,
    },
    body: JSON.stringify({ inputs: { input: [row] } }),
  });
  if (response.status !== 200)
    throw new Error(`invocation ${id} answered ${response.status}: ${await response.text()}`);
  await response.text();
}

/** Request ids in the records table, in order. */
function recordIds(page: Page): Promise<string[]> {
  return page
    .locator('.records-table tr[data-request-id]')
    .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-request-id') ?? ''));
}

describeInBrowser('web UI: deployments (Chromium)', () => {
  let ui: UiHarness;
  let dir: string;

  beforeAll(async () => {
    ui = await startUiHarness();
    dir = mkdtempSync(join(tmpdir(), 'keel-ui-deployments-'));
    const sdk = new KeelClient({ trackingUri: ui.url, retries: 0 });
    const modelDir = await writeOnnxModelDir(join(dir, 'mlp'));
    for (const name of ['first', 'second']) {
      const run = await sdk.startRun({ experiment: 'iris-training', name });
      await run.logArtifacts(modelDir, 'model');
      await run.registerModel('model', 'iris');
      await run.end();
    }
    await sdk.deployments.create(
      'iris',
      {
        routes: [
          { name: 'stable', model: 'models:/iris/1', weight: 90 },
          { name: 'canary', model: 'models:/iris/2', weight: 10 },
        ],
      },
      { description: 'Iris species classifier' },
    );
    await sdk.deployments.update('iris', {
      spec: {
        routes: [
          { name: 'stable', model: 'models:/iris/1', weight: 80 },
          { name: 'canary', model: 'models:/iris/2', weight: 20 },
        ],
      },
    });
    await waitFor(
      async () => (await fetch(`${ui.url}/deployments/iris/ready`)).status === 200,
      30_000,
      'the deployment to be ready',
    );
    for (let i = 0; i < 3; i++) await invoke(ui.url, `alice-${i}`, 'alice', 'stable', i);
    for (let i = 0; i < 2; i++) await invoke(ui.url, `bob-${i}`, 'bob', 'canary', 10 + i);
  });
  afterAll(async () => {
    await ui?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('lists the deployment with its revision, routes, weights and state', async () => {
    const page = await ui.open('/deployments');
    const row = page.locator('tr[data-deployment="iris"]');
    await row.waitFor();
    expect(await row.locator('td').nth(1).textContent()).toBe('2');
    expect(await row.locator('.route-lines li').allTextContents()).toEqual([
      'stable80%models:/iris/1',
      'canary20%models:/iris/2',
    ]);
    expect(await row.getByRole('img', { name: /Traffic split/ }).getAttribute('aria-label')).toBe(
      'Traffic split: stable 80%, canary 20%',
    );
    await expect
      .poll(() => row.locator('.state-badge').getAttribute('data-state'), { timeout: 10_000 })
      .toBe('serving');
    await screenshot(page, 'deployments');
  });

  it('shows routes, revisions and live traffic computed from /metrics', async () => {
    const page = await ui.open('/deployments/iris');
    await page.getByRole('heading', { level: 1, name: 'iris' }).waitFor();
    const routes = page.getByRole('table', { name: 'Routes and weights' });
    await routes.locator('tr[data-route="stable"]').waitFor();
    expect(await routes.locator('tr[data-route] .route-share').allTextContents()).toEqual(['80%', '20%']);
    expect(await routes.locator('tr[data-route="canary"]').getByRole('link').textContent()).toBe(
      'models:/iris/2',
    );
    const revisions = page.getByRole('table', { name: 'Revisions, newest first' });
    await expect.poll(() => revisions.locator('tr[data-revision]').count()).toBe(2);
    expect(await revisions.locator('tr[data-revision="1"] td').nth(1).textContent()).toBe('created');
    expect(await page.locator('.page-header .state-badge').getAttribute('data-state')).toBe('serving');

    // Calls while the page polls /metrics: the rate and latency tiles follow.
    const total = page.locator('[data-stat="total"] .stat-value');
    await expect.poll(() => total.textContent(), { timeout: 10_000 }).toBe('5');
    let sending = true;
    const sender = (async () => {
      for (let i = 0; sending && i < 200; i++) {
        await invoke(ui.url, `live-${i}`, 'carol', i % 2 === 0 ? 'stable' : 'canary', 100 + i);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    try {
      await expect
        .poll(() => page.locator('[data-stat="rate"] .stat-value').textContent(), { timeout: 15_000 })
        .toMatch(/^[1-9]|^0\.[0-9]*[1-9]/);
      await expect
        .poll(() => page.locator('[data-stat="p50"] .stat-value').textContent(), { timeout: 10_000 })
        .toMatch(/ms$/);
      expect(await page.locator('[data-stat="p99"] .stat-value').textContent()).toMatch(/ms$|s$/);
      expect(await routes.locator('tr[data-route="canary"] td').nth(4).textContent()).not.toBe('—');
      const sparkline = page.getByRole('img', { name: /Requests per second/ });
      await expect.poll(() => sparkline.locator('polyline').count(), { timeout: 10_000 }).toBe(1);
      await screenshot(page, 'deployment');
    } finally {
      sending = false;
      await sender;
    }
  });

  it('lists the prediction records, narrows them with filters, expands one and links exports', async () => {
    const page = await ui.open('/deployments/iris?caller=alice');
    await expect.poll(() => recordIds(page), { timeout: 10_000 }).toEqual(['alice-2', 'alice-1', 'alice-0']);
    const filters = page.getByRole('form', { name: 'Filter prediction records' });
    expect(await filters.getByLabel('Caller').inputValue()).toBe('alice');

    await filters.getByLabel('Caller').fill('bob');
    await filters.getByLabel('Caller').press('Enter');
    await expect.poll(() => recordIds(page)).toEqual(['bob-1', 'bob-0']);
    expect(new URL(page.url()).searchParams.get('caller')).toBe('bob');
    const bob = page.locator('tr[data-request-id="bob-1"] td');
    expect((await bob.allTextContents()).slice(2, 7)).toEqual(['bob-1', 'iris/2', 'canary', 'bob', '200']);

    await filters.getByLabel('Model version').selectOption('iris/2');
    await filters.getByLabel('Status').selectOption('200');
    await expect.poll(() => new URL(page.url()).searchParams.get('status')).toBe('200');
    expect(await recordIds(page)).toEqual(['bob-1', 'bob-0']);
    expect(new URL(page.url()).searchParams.get('version')).toBe('iris/2');
    await filters.getByLabel('Model version').selectOption('iris/1');
    await page.getByText('No record matches these filters.').waitFor();
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await expect.poll(async () => (await recordIds(page)).length).toBeGreaterThanOrEqual(5);

    await filters.getByLabel('Caller').fill('alice');
    await filters.getByLabel('Caller').press('Enter');
    await expect.poll(() => recordIds(page)).toEqual(['alice-2', 'alice-1', 'alice-0']);
    await page.getByRole('button', { name: 'Show input and output of alice-0' }).click();
    const detail = page.locator('tr.record-detail');
    await detail.waitFor();
    const input = await detail.locator('.payload').first().locator('pre').textContent();
    expect(JSON.parse(input ?? '')).toEqual({ inputs: { input: [[0, 0.841, 0.909, 0.141]] } });
    const output = JSON.parse((await detail.locator('.payload').nth(1).locator('pre').textContent()) ?? '');
    expect(output.predictions).toHaveLength(1);
    // Scrolls the page's own scroll box (not the window) to the records; a string, as this file is
    // type-checked without the DOM library.
    await page.getByRole('heading', { name: 'Prediction records' }).evaluate(
      `(heading) => {
        const section = heading.closest('section');
        const scroller = heading.closest('.page');
        scroller.scrollBy(0, section.getBoundingClientRect().top - scroller.getBoundingClientRect().top - 16);
      }`,
    );
    await screenshot(page, 'deployment-records');

    const jsonlHref = await page.getByRole('link', { name: 'JSONL' }).getAttribute('href');
    expect(jsonlHref).toBe('/api/2.0/keel/predictions/export?deployment=iris&caller=alice&format=jsonl');
    expect(await page.getByRole('link', { name: 'CSV' }).getAttribute('href')).toBe(
      '/api/2.0/keel/predictions/export?deployment=iris&caller=alice&format=csv',
    );
    const exported = await (await fetch(`${ui.url}${jsonlHref}`)).text();
    expect(
      exported
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).request_id),
    ).toEqual(['alice-2', 'alice-1', 'alice-0']);
  });
});
