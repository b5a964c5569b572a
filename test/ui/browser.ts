// Harness of the browser tests: a real `keel server` child process on a temporary SQLite store and
// artifact folder, and Debian's Chromium driven by playwright-core (never a downloaded browser). It
// builds nothing: it needs the built CLI and UI (`npm run build`; `npm test` builds first).
//
// When Chromium or the built UI is missing, the suites are skipped with a loud warning — except
// under CI=true, where that is an error.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { describe } from 'vitest';
import { ok } from '../helpers/http.js';
import { KEEL_BIN, killAll, sqliteServerArgs, startKeelServer } from '../helpers/keel-process.js';
import { CHROMIUM_PATH, chromiumLaunchOptions } from './chromium.mjs';

/** The built UI's entry page (`npm run build -w @keel/web`). */
export const UI_INDEX = fileURLToPath(new URL('../../packages/web/dist/ui/index.html', import.meta.url));

/** Why the browser tests cannot run here, or `undefined` when they can. */
function missingPrerequisite(): string | undefined {
  if (!existsSync(CHROMIUM_PATH)) {
    return `${CHROMIUM_PATH} is missing: install Debian's chromium package (npm run setup:system does it)`;
  }
  if (!existsSync(UI_INDEX)) return `the web UI is not built (${UI_INDEX} is missing): run npm run build`;
  if (!existsSync(KEEL_BIN)) return `the CLI is not built (${KEEL_BIN} is missing): run npm run build`;
  return undefined;
}

const missing = missingPrerequisite();
if (missing !== undefined) {
  if (process.env.CI === 'true') throw new Error(`Browser tests cannot run under CI: ${missing}`);
  console.warn(`\n!!! SKIPPING THE BROWSER TESTS: ${missing} !!!\n`);
}

/** `describe` when the browser tests can run; skipped (after a loud warning) otherwise. */
export const describeInBrowser = describe.skipIf(missing !== undefined);

/** A running `keel server` with an open Chromium, for one test file. */
export interface UiHarness {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly browser: Browser;
  /** A fresh page (own context: own storage, 1400×900 viewport) on `path` of the server. */
  open(path: string): Promise<Page>;
  /** Closes the browser, kills the server and removes its data folder. */
  dispose(): Promise<void>;
}

/** Starts `keel server --workers 1` on a temporary SQLite store and launches Chromium. */
export async function startUiHarness(): Promise<UiHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'keel-ui-test-'));
  const server = await startKeelServer([...sqliteServerArgs(dir), '--workers', '1']);
  const browser = await chromium.launch(chromiumLaunchOptions());
  const contexts: BrowserContext[] = [];
  return {
    url: server.url,
    browser,
    async open(path) {
      const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      contexts.push(context);
      const page = await context.newPage();
      await page.goto(`${server.url}${path}`);
      return page;
    },
    async dispose() {
      for (const context of contexts) await context.close().catch(() => {});
      await browser.close();
      await killAll();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Saves a screenshot of `page` as `<name>.png` in the folder `KEEL_UI_SCREENSHOTS` names (for the
 * docs); does nothing when it is unset.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  const folder = process.env.KEEL_UI_SCREENSHOTS;
  if (folder === undefined || folder === '') return;
  await mkdir(folder, { recursive: true });
  await page.screenshot({ path: join(folder, `${name}.png`) });
}

/** What {@link seedRun} logs. */
export interface SeedRun {
  name: string;
  params?: Record<string, string>;
  metrics?: Record<string, number>;
  tags?: Record<string, string>;
  /** @default Date.now() */
  startTime?: number;
  /** Run length; the run ends FINISHED. @default 60_000 */
  durationMs?: number;
  /** Sets the `mlflow.parentRunId` tag. */
  parentRunId?: string;
}

/** Creates an experiment through MLflow's REST API; returns its id. */
export async function seedExperiment(url: string, name: string): Promise<string> {
  const { experiment_id } = await ok<{ experiment_id: string }>(url, 'experiments/create', { name });
  return experiment_id;
}

/** Creates a finished run with params, metrics and tags through MLflow's REST API; returns its id. */
export async function seedRun(url: string, experimentId: string, run: SeedRun): Promise<string> {
  const startTime = run.startTime ?? Date.now();
  const tags = { ...run.tags, ...(run.parentRunId ? { 'mlflow.parentRunId': run.parentRunId } : {}) };
  const created = await ok<{ run: { info: { run_id: string } } }>(url, 'runs/create', {
    experiment_id: experimentId,
    run_name: run.name,
    start_time: startTime,
    user_id: 'ada',
    tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
  });
  const runId = created.run.info.run_id;
  await ok(url, 'runs/log-batch', {
    run_id: runId,
    params: Object.entries(run.params ?? {}).map(([key, value]) => ({ key, value })),
    metrics: Object.entries(run.metrics ?? {}).map(([key, value]) => ({
      key,
      value,
      timestamp: startTime,
      step: 0,
    })),
  });
  await ok(url, 'runs/update', {
    run_id: runId,
    status: 'FINISHED',
    end_time: startTime + (run.durationMs ?? 60_000),
  });
  return runId;
}
