// Browser tests of the registry pages (/models, /models/:name, /models/:name/versions/:v) in Debian's
// Chromium against a real `keel server` (see browser.ts). A model with two versions is seeded through
// MLflow's REST API; the tests check what a person sees and, after UI actions, the API's state.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { get, ok } from '../helpers/http.js';
import {
  describeInBrowser,
  screenshot,
  seedExperiment,
  seedRun,
  startUiHarness,
  type UiHarness,
} from './browser.js';

/** Uploads one file into a run's artifacts through the artifact proxy. */
async function putArtifact(url: string, artifactUri: string, path: string, content: string): Promise<void> {
  const base = artifactUri.replace(/^mlflow-artifacts:\/+/, '');
  const response = await fetch(`${url}/api/2.0/mlflow-artifacts/artifacts/${base}/${path}`, {
    method: 'PUT',
    body: content,
  });
  if (!response.ok) throw new Error(`PUT ${path} answered ${response.status}: ${await response.text()}`);
}

/** A run with a `model/` folder (MLmodel + weights), its code tags and a training dataset; returns its id. */
async function seedTrainingRun(url: string, experimentId: string, name: string, lr: string): Promise<string> {
  const runId = await seedRun(url, experimentId, {
    name,
    params: { lr },
    metrics: { auc: 0.9 },
    tags: { 'mlflow.source.name': 'train/churn.py', 'mlflow.source.git.commit': 'a1b2c3d4e5f60718' },
  });
  const { run } = (await get<{ run: { info: { artifact_uri: string } } }>(url, 'runs/get', { run_id: runId }))
    .json;
  await putArtifact(url, run.info.artifact_uri, 'model/MLmodel', 'flavors: {}\n');
  await putArtifact(
    url,
    run.info.artifact_uri,
    'model/weights.json',
    JSON.stringify([0.4, -1.2, Number(lr)]),
  );
  await ok(url, 'runs/log-inputs', {
    run_id: runId,
    datasets: [
      {
        dataset: {
          name: 'churn-train',
          digest: `d1g3st${name}`,
          source_type: 'local',
          source: '{"uri":"data.csv"}',
        },
        tags: [{ key: 'mlflow.data.context', value: 'training' }],
      },
    ],
  });
  return runId;
}

describeInBrowser('web UI: registry (Chromium)', () => {
  let ui: UiHarness;

  beforeAll(async () => {
    ui = await startUiHarness();
    const experimentId = await seedExperiment(ui.url, 'churn-training');
    const first = await seedTrainingRun(ui.url, experimentId, 'gbm-1', '0.1');
    const second = await seedTrainingRun(ui.url, experimentId, 'gbm-2', '0.05');
    await ok(ui.url, 'registered-models/create', {
      name: 'churn',
      description: 'Predicts which customers leave next month.',
      tags: [{ key: 'team', value: 'growth' }],
    });
    await ok(ui.url, 'registered-models/create', { name: 'fraud-scorer' });
    for (const runId of [first, second]) {
      await ok(ui.url, 'model-versions/create', {
        name: 'churn',
        source: `runs:/${runId}/model`,
        run_id: runId,
      });
    }
    await ok(ui.url, 'model-versions/transition-stage', {
      name: 'churn',
      version: '1',
      stage: 'Production',
      archive_existing_versions: false,
    });
    await ok(ui.url, 'registered-models/alias', { name: 'churn', alias: 'champion', version: '1' });
  });
  afterAll(async () => {
    await ui?.dispose();
  });

  it('lists the models with their latest version, stages and aliases, and finds them by name or by a tag filter', async () => {
    const page = await ui.open('/models');
    const row = page.locator('tr[data-model="churn"]');
    await row.waitFor();
    expect(await page.locator('tr[data-model]').count()).toBe(2);
    expect(await row.getByRole('link', { name: 'Version 2' }).count()).toBe(1);
    expect(await row.locator('.stage-badge').allTextContents()).toEqual(['Production']);
    expect(await row.locator('.model-alias').allTextContents()).toEqual(['@champion → v1']);
    await screenshot(page, 'models');

    const search = page.getByRole('searchbox', { name: 'Search models by name or filter' });
    await search.fill('FRAUD');
    await expect.poll(() => page.locator('tr[data-model]').count()).toBe(1);
    expect(await page.locator('tr[data-model="fraud-scorer"]').count()).toBe(1);
    expect(new URL(page.url()).searchParams.get('q')).toBe('FRAUD');

    // A filter in the search grammar is sent as it is: here, a tag only `churn` has.
    await search.fill("tags.team = 'growth'");
    await expect.poll(() => page.locator('tr[data-model="churn"]').count()).toBe(1);
    expect(await page.locator('tr[data-model]').count()).toBe(1);
    expect(new URL(page.url()).searchParams.get('q')).toBe("tags.team = 'growth'");

    await search.fill('nothing-like-this');
    await page.getByRole('heading', { name: 'No model matches your search' }).waitFor();
  });

  it("shows a model's versions and moves an alias from the form, which the API then reports", async () => {
    const page = await ui.open('/models/churn');
    await page.getByRole('heading', { level: 1, name: 'churn' }).waitFor();
    await page.locator('tr[data-version]').first().waitFor();
    expect(
      await page
        .locator('tr[data-version]')
        .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-version'))),
    ).toEqual(['2', '1']);
    const v1 = page.locator('tr[data-version="1"]');
    expect(await v1.locator('.stage-badge').textContent()).toBe('Production');
    expect(await v1.locator('.model-alias').allTextContents()).toEqual(['@champion']);
    expect(await page.getByText('Predicts which customers leave next month.').count()).toBe(1);
    expect(await page.getByRole('table', { name: 'Tags of churn' }).getByText('growth').count()).toBe(1);
    await screenshot(page, 'model');

    await page.getByRole('button', { name: 'Move alias champion' }).click();
    const form = page.getByRole('form', { name: 'Set an alias' });
    expect(await form.getByLabel('Alias').inputValue()).toBe('champion');
    await form.getByLabel('Version').selectOption('2');
    await form.getByRole('button', { name: 'Move alias' }).click();

    const v2 = page.locator('tr[data-version="2"]');
    await expect.poll(() => v2.locator('.model-alias').allTextContents()).toEqual(['@champion']);
    expect(await v1.locator('.model-alias').count()).toBe(0);
    const alias = await get<{ model_version: { version: string } }>(ui.url, 'registered-models/alias', {
      name: 'churn',
      alias: 'champion',
    });
    expect(alias.json.model_version.version).toBe('2');

    // A new alias, then deleting it.
    await form.getByLabel('Alias').fill('challenger');
    await form.getByLabel('Version').selectOption('1');
    await form.getByRole('button', { name: 'Set alias' }).click();
    await expect.poll(() => v1.locator('.model-alias').allTextContents()).toEqual(['@challenger']);
    await page.getByRole('button', { name: 'Delete alias challenger' }).click();
    await expect.poll(() => v1.locator('.model-alias').count()).toBe(0);
    const gone = await get(ui.url, 'registered-models/alias', { name: 'churn', alias: 'challenger' });
    expect(gone.json.error_code).toBe('RESOURCE_DOES_NOT_EXIST');

    // A reserved name is refused before anything is sent.
    await form.getByLabel('Alias').fill('latest');
    await form.getByRole('button', { name: 'Set alias' }).click();
    expect(await page.getByRole('alert').textContent()).toContain("'latest' is reserved");
  });

  it("draws a version's lineage, edits its description and lists its audit history", async () => {
    const page = await ui.open('/models/churn/versions/2');
    await page.getByRole('heading', { level: 1, name: 'churn version 2' }).waitFor();
    const graph = page.getByRole('region', { name: 'Lineage of churn version 2' });
    const cards = graph.locator('.lineage-card');
    await expect.poll(() => cards.count()).toBe(6);
    const kinds = await cards.evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-kind')).sort());
    expect(kinds).toEqual(['code', 'dataset', 'experiment', 'model_version', 'registered_model', 'run']);
    expect(await graph.locator('.lineage-card[data-kind="dataset"]').textContent()).toContain('churn-train');
    expect(await graph.locator('.lineage-card[data-kind="code"]').textContent()).toContain('churn.py');
    expect(await graph.locator('.lineage-card[data-kind="run"]').textContent()).toContain('gbm-2');
    // Arrows: code, dataset, experiment into the run; run and registered model into the version.
    await expect.poll(() => graph.locator('.react-flow__edge').count()).toBe(5);

    await page.getByRole('button', { name: 'Edit description' }).click();
    await page.getByRole('textbox', { name: 'Description' }).fill('Retrained on March data.');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('.text-block', { hasText: 'Retrained on March data.' }).waitFor();
    const saved = await get<{ model_version: { description: string } }>(ui.url, 'model-versions/get', {
      name: 'churn',
      version: '2',
    });
    expect(saved.json.model_version.description).toBe('Retrained on March data.');

    const history = page.getByRole('table', { name: /Audit history of churn version 2/ });
    await expect
      .poll(() =>
        history.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-action'))),
      )
      .toEqual(['model_version.updated', 'registered_model_alias.set', 'model_version.created']);
    const aliasRow = history.locator('tr[data-action="registered_model_alias.set"]');
    expect(await aliasRow.locator('td').allTextContents()).toEqual([
      expect.any(String),
      'anonymous',
      'registered_model_alias.set',
      "alias 'champion' moved here from version 1",
    ]);
    await screenshot(page, 'model-version');
  });
});
