// Browser tests of the workflow pages (/workflows, /executions/:id) in Debian's Chromium against a
// real `keel server` whose engine runs the tasks of fixtures/squares-flow.ts (see browser.ts): the
// workflow list and versions, an execution's DAG with its nodes' final states and colours, a node's
// streamed logs, and the Relaunch and Recover buttons.
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Execution, KeelClient } from '../../packages/sdk/src/index.js';
import { describeInBrowser, screenshot, startUiHarness, type UiHarness } from './browser.js';

const FLOW = fileURLToPath(new URL('./fixtures/squares-flow.ts', import.meta.url));

/** `data-state` of each node card in the DAG, by node id. */
async function cardStates(page: Page): Promise<Record<string, string>> {
  const pairs = await page
    .locator('.wf-card')
    .evaluateAll((cards) =>
      cards.map((card) => [card.getAttribute('data-node-id'), card.getAttribute('data-state')]),
    );
  return Object.fromEntries(pairs);
}

/** The computed colour of the state's dot in the legend, and the left border of a node's box. */
async function colours(page: Page, state: string, nodeId: string): Promise<[string, string]> {
  // Strings: this file is type-checked without the DOM library.
  const legend = await page
    .locator(`.state-legend .wf-${state} .status-dot`)
    .evaluate<string, unknown>('(dot) => getComputedStyle(dot).backgroundColor');
  const box = await page
    .locator(`.react-flow__node:has(.wf-card[data-node-id="${nodeId}"])`)
    .evaluate<string, unknown>('(node) => getComputedStyle(node).borderLeftColor');
  return [legend, box];
}

describeInBrowser('web UI: workflows (Chromium)', () => {
  let ui: UiHarness;
  let sdk: KeelClient;
  let done: Execution;
  let failed: Execution;

  beforeAll(async () => {
    ui = await startUiHarness();
    sdk = new KeelClient({ trackingUri: ui.url, retries: 0 });
    await sdk.workflows.register(FLOW, { version: 'v1', description: 'first version' });
    done = await sdk.executions.wait((await sdk.executions.launch('squares', { n: 4 })).execution_id, {
      intervalMs: 200,
    });
    failed = await sdk.executions.wait((await sdk.executions.launch('squares', { n: 13 })).execution_id, {
      intervalMs: 200,
    });
  });
  afterAll(async () => {
    await ui?.dispose();
  });

  it('lists the workflow, its versions with the default marked, and its recent executions', async () => {
    expect([done.state, failed.state]).toEqual(['succeeded', 'failed']);
    const page = await ui.open('/workflows');
    const row = page.locator('tr[data-workflow="squares"]');
    await row.waitFor();
    expect(await row.locator('td').allTextContents()).toEqual([
      'squares',
      'v1',
      'v1',
      '1',
      expect.any(String),
    ]);
    const executions = page.getByRole('table', { name: 'Executions, newest first' });
    await expect.poll(() => executions.locator('tr[data-execution-id]').count()).toBe(2);
    await screenshot(page, 'workflows');

    await row.getByRole('link', { name: 'squares' }).click();
    await page.getByRole('heading', { level: 1, name: 'squares' }).waitFor();
    const versions = page.getByRole('table', { name: /Versions of squares/ });
    expect(await versions.locator('tr[data-default="true"] td').first().textContent()).toBe('v1');
    expect(await versions.locator('tr[data-version="v1"]').textContent()).toContain('default');
    const rows = page.locator('tr[data-execution-id]');
    await expect.poll(() => rows.count()).toBe(2);
    expect(await rows.first().getAttribute('data-execution-id')).toBe(failed.execution_id);
    expect(await rows.first().locator('.wf-state').getAttribute('data-state')).toBe('failed');
  });

  it("draws the DAG with each node's final state and colour, and streams a node's logs", async () => {
    const page = await ui.open(`/executions/${done.execution_id}`);
    await page.getByRole('heading', { level: 1, name: /squares/ }).waitFor();
    await expect
      .poll(() => cardStates(page), { timeout: 10_000 })
      .toEqual({
        prepare: 'succeeded',
        'square-map': 'succeeded',
        total: 'succeeded',
        branch: 'succeeded',
        'branch.then.branch-then-announce': 'succeeded',
      });
    expect(await page.locator('.wf-card[data-node-id="square-map"] .map-progress').textContent()).toContain(
      '4/4 items',
    );
    // Arrows: prepare → map → total → branch → announce, and total → announce (its input).
    expect(await page.locator('.react-flow__edge').count()).toBe(5);
    const [legendGreen, boxGreen] = await colours(page, 'succeeded', 'total');
    expect(boxGreen).toBe(legendGreen);

    await page.locator('.react-flow__node:has(.wf-card[data-node-id="total"])').click();
    expect(new URL(page.url()).searchParams.get('node')).toBe('total');
    const details = page.getByRole('region', { name: 'Node total' });
    await details.getByRole('heading', { name: 'Node total' }).waitFor();
    const log = details.getByLabel('Log output of total');
    await expect
      .poll(() => log.locator('[data-stream="stdout"]').allTextContents(), { timeout: 10_000 })
      .toContain('outsum is 30');
    expect(await log.locator('[data-stream="stderr"]').allTextContents()).toEqual([
      'errsumming done on stderr',
    ]);
    expect(await details.getByRole('status').textContent()).toBe('attempt succeeded');
    expect(await details.locator('.payload').nth(1).textContent()).toContain('"sum": 30');
    await screenshot(page, 'execution');
  });

  it('shows a failed node, skips the rest, and Recover starts a recover execution', async () => {
    const page = await ui.open(`/executions/${failed.execution_id}`);
    await expect
      .poll(() => cardStates(page), { timeout: 10_000 })
      .toMatchObject({
        prepare: 'failed',
        'square-map': 'skipped',
        total: 'skipped',
      });
    const [legendRed, boxRed] = await colours(page, 'failed', 'prepare');
    expect(boxRed).toBe(legendRed);
    expect(await page.getByRole('alert').first().textContent()).toContain('13 items is unlucky');
    expect(await page.getByRole('button', { name: 'Cancel' }).count()).toBe(0);

    await page.getByRole('button', { name: 'Recover' }).click();
    await expect.poll(() => new URL(page.url()).pathname).not.toBe(`/executions/${failed.execution_id}`);
    const recovered = await sdk.executions.get(new URL(page.url()).pathname.split('/').pop() ?? '');
    expect([recovered.mode, recovered.parent_execution_id]).toEqual(['recover', failed.execution_id]);
    const parent = `${failed.execution_id.slice(0, 8)}…${failed.execution_id.slice(-4)}`;
    await page.getByRole('link', { name: parent }).waitFor();
  });

  it('Relaunch creates a new execution, whose cached map items show as cache hits', async () => {
    const page = await ui.open(`/executions/${done.execution_id}`);
    await page.locator('.wf-card').first().waitFor();
    await page.getByRole('button', { name: 'Relaunch' }).click();
    await expect.poll(() => new URL(page.url()).pathname).not.toBe(`/executions/${done.execution_id}`);
    const newId = new URL(page.url()).pathname.split('/').pop() ?? '';
    const relaunched = await sdk.executions.get(newId);
    expect([relaunched.mode, relaunched.parent_execution_id]).toEqual(['relaunch', done.execution_id]);
    await expect
      .poll(() => cardStates(page), { timeout: 20_000 })
      .toMatchObject({
        'square-map': 'cached',
        total: 'succeeded',
        'branch.then.branch-then-announce': 'succeeded',
      });
    expect(await page.locator('.wf-card[data-node-id="square-map"] .cache-hit').textContent()).toBe(
      'cache hit',
    );
    expect(await page.locator('.execution-line .wf-state').getAttribute('data-state')).toBe('succeeded');
  });
});
