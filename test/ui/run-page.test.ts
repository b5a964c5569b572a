// Browser tests of the run page (/runs/:id), in Debian's Chromium against a real `keel server` (see
// browser.ts). A run is seeded through the REST API with params, metrics, tags, a parent and a child,
// a dataset input, artifacts uploaded through the artifact proxy's PUT (text, JSON, CSV, PNG, MLmodel,
// HTML, a long log) and a registered model version; the assertions are about what a person sees.
import { deflateSync } from 'node:zlib';
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

/** The fields of an `<img>` element that tell whether it decoded (no DOM types in the tests' tsconfig). */
interface DecodedImage {
  complete: boolean;
  naturalWidth: number;
}

/** CRC-32 of PNG chunks (ISO 3309 polynomial). */
function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A valid `size`×`size` RGB PNG: a blue-to-green gradient. */
function gradientPng(size: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // colour type: RGB
  const rows: Buffer[] = [];
  for (let y = 0; y < size; y++) {
    const row = Buffer.alloc(1 + size * 3); // filter byte 0, then pixels
    for (let x = 0; x < size; x++) {
      row[1 + x * 3] = 40;
      row[2 + x * 3] = Math.round((255 * x) / size);
      row[3 + x * 3] = Math.round((255 * y) / size);
    }
    rows.push(row);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(Buffer.concat(rows))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

const MLMODEL = `artifact_path: model
flavors:
  python_function:
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.sklearn
    model_path: model.pkl
    predict_fn: predict
    python_version: 3.11.4
  sklearn:
    code: null
    pickled_model: model.pkl
    serialization_format: cloudpickle
    sklearn_version: 1.3.0
mlflow_version: 2.9.2
model_size_bytes: 2048
model_uuid: 4f6c2a0e8e5b4c1d9a7f3b2e1d0c9b8a
signature:
  inputs: '[{"type": "double", "name": "tenure", "required": true}, {"type": "string",
    "name": "plan", "required": false}]'
  outputs: '[{"type": "long", "required": true}]'
  params: null
utc_time_created: '2024-05-01 12:00:00.000000'
`;

const CSV = 'customer,plan,note\n1,basic,"likes ""fast"" support"\n2,"premium, annual",ok\n3,basic,\n';
const SUMMARY = {
  accuracy: 0.91,
  confusion: { true_positive: 40, false_positive: 3 },
  classes: ['churn', 'stay'],
};
const REPORT =
  '<!doctype html><html><head><title>report</title><script>document.title = "script ran"</script></head>' +
  '<body style="font-family: sans-serif"><h1>Evaluation report</h1><p>Accuracy 0.91 on 1,200 rows.</p></body></html>';
/** A log longer than the text preview's first read (128 KiB). */
const LONG_LOG = Array.from({ length: 6000 }, (_, i) => `step ${i} loss ${(1 / (i + 1)).toFixed(6)}`).join(
  '\n',
);

/** Uploads one artifact file through the artifact proxy's PUT. */
async function putArtifact(
  url: string,
  experimentId: string,
  runId: string,
  path: string,
  body: string | Buffer,
) {
  const response = await fetch(
    `${url}/api/2.0/mlflow-artifacts/artifacts/${experimentId}/${runId}/artifacts/${path}`,
    {
      method: 'PUT',
      body,
    },
  );
  if (response.status !== 200)
    throw new Error(`PUT ${path} answered ${response.status}: ${await response.text()}`);
}

/** Opens the artifacts tab and clicks a file (opening its folders first) in the tree. */
async function selectArtifact(page: Page, path: string): Promise<void> {
  const tree = page.getByRole('tree', { name: 'Artifact files' });
  const parts = path.split('/');
  for (let i = 1; i <= parts.length; i++) {
    const item = tree.locator(`[role="treeitem"][data-path="${parts.slice(0, i).join('/')}"]`);
    const isFolder = i < parts.length;
    if (isFolder && (await item.getAttribute('aria-expanded')) === 'true') continue;
    await item.locator('> .artifact-tree-row').click();
  }
  await page.locator('.preview-header h2', { hasText: parts[parts.length - 1] }).waitFor();
}

describeInBrowser('web UI: the run page (Chromium)', () => {
  let ui: UiHarness;
  let experimentId: string;
  let runId: string;
  let parentId: string;
  let childId: string;
  const start = Date.now() - 3_600_000;

  beforeAll(async () => {
    ui = await startUiHarness();
    experimentId = await seedExperiment(ui.url, 'churn-run-page');
    parentId = await seedRun(ui.url, experimentId, { name: 'sweep', startTime: start - 10_000 });
    runId = await seedRun(ui.url, experimentId, {
      name: 'churn-train',
      params: { lr: '0.01', optimizer: 'adam', n_estimators: '200', max_depth: '8' },
      metrics: { accuracy: 0.91, auc: 0.955 },
      tags: {
        team: 'growth',
        'mlflow.source.name': 'train.py',
        'mlflow.source.type': 'LOCAL',
        'mlflow.source.git.commit': '3f2a9c1b7e4d5a6b8c9d0e1f2a3b4c5d6e7f8a9b',
        'mlflow.note.content': 'Gradient boosting on the 2024 churn snapshot.',
      },
      startTime: start,
      durationMs: 125_000,
      parentRunId: parentId,
    });
    childId = await seedRun(ui.url, experimentId, {
      name: 'churn-train-fold-1',
      metrics: { accuracy: 0.9 },
      startTime: start + 1000,
      parentRunId: runId,
    });
    await ok(ui.url, 'runs/log-batch', {
      run_id: runId,
      metrics: [0, 1, 2].map((step) => ({
        key: 'loss',
        value: 0.7 - step * 0.2,
        timestamp: start + step,
        step,
      })),
    });
    await ok(ui.url, 'runs/log-inputs', {
      run_id: runId,
      datasets: [
        {
          tags: [{ key: 'mlflow.data.context', value: 'training' }],
          dataset: {
            name: 'churn-2024',
            digest: 'd41d8cd9',
            source_type: 'local',
            source: '{"uri": "/data/churn-2024.csv"}',
            schema:
              '{"mlflow_colspec": [{"type": "double", "name": "tenure"}, {"type": "string", "name": "plan"}]}',
            profile: '{"num_rows": 1200, "num_elements": 2400}',
          },
        },
      ],
    });
    const files: [string, string | Buffer][] = [
      ['notes.txt', 'Trained on the 2024 snapshot.\nNext: try deeper trees.\n'],
      ['train.log', LONG_LOG],
      ['metrics/summary.json', JSON.stringify(SUMMARY)],
      ['data/sample.csv', CSV],
      ['plots/gradient.png', gradientPng(96)],
      ['model/MLmodel', MLMODEL],
      ['model/model.pkl', Buffer.from([0x80, 0x04, 0x95, 0x00, 0x00, 0x01, 0x02])],
      ['report.html', REPORT],
    ];
    for (const [path, body] of files) await putArtifact(ui.url, experimentId, runId, path, body);
    await ok(ui.url, 'registered-models/create', { name: 'churn-model' });
    await ok(ui.url, 'model-versions/create', {
      name: 'churn-model',
      source: `runs:/${runId}/model`,
      run_id: runId,
    });
  });
  afterAll(async () => {
    await ui?.dispose();
  });

  it('shows the overview: status, user, duration, source, parent, child, dataset and registered version', async () => {
    const page = await ui.open(`/runs/${runId}`);
    await page.getByRole('heading', { level: 1, name: /churn-train/ }).waitFor();
    const details = page.locator('#run-details');
    const fact = (label: string) =>
      details.locator('.run-fact', { has: page.locator(`dt:text-is("${label}")`) });
    await expect.poll(() => fact('Status').textContent()).toBe('StatusFinished');
    expect(await fact('User').locator('dd').textContent()).toBe('ada');
    expect(await fact('Duration').locator('dd').textContent()).toBe('2m 5s');
    expect(await fact('Source').locator('dd').textContent()).toBe('train.py (local)');
    expect(await fact('Git commit').locator('dd').textContent()).toBe('3f2a9c1b7e4d');
    expect(await details.getByText('Gradient boosting on the 2024 churn snapshot.').count()).toBe(1);
    await expect
      .poll(() => fact('Experiment').getByRole('link').getAttribute('href'))
      .toBe(`/experiments/${experimentId}`);
    const parent = fact('Parent run').getByRole('link');
    await expect.poll(() => parent.textContent()).toBe('sweep');
    expect(await parent.getAttribute('href')).toBe(`/runs/${parentId}`);

    const child = page.locator('#child-runs').getByRole('link', { name: 'churn-train-fold-1' });
    await child.waitFor();
    expect(await child.getAttribute('href')).toBe(`/runs/${childId}`);

    const datasets = page.locator('#datasets');
    expect(await datasets.getByRole('cell', { name: 'churn-2024', exact: true }).count()).toBe(1);
    expect(await datasets.getByRole('cell', { name: 'training', exact: true }).count()).toBe(1);
    expect(await datasets.getByText('/data/churn-2024.csv').count()).toBe(1);
    expect(await datasets.getByRole('cell', { name: '1,200', exact: true }).count()).toBe(1);

    const version = page.getByRole('link', { name: 'churn-model version 1' });
    await version.waitFor();
    expect(await version.getAttribute('href')).toBe('/models/churn-model/versions/1');
    await screenshot(page, 'run-overview');
  });

  it('counts up the duration of a running run, and shows its end once it finishes', async () => {
    const startTime = Date.now() - 65_000;
    const created = await ok<{ run: { info: { run_id: string } } }>(ui.url, 'runs/create', {
      experiment_id: experimentId,
      run_name: 'still-training',
      start_time: startTime,
    });
    const id = created.run.info.run_id;
    const page = await ui.open(`/runs/${id}`);
    const duration = page
      .locator('#run-details .run-fact', { has: page.locator('dt:text-is("Duration")') })
      .locator('dd');
    await expect.poll(() => duration.textContent()).toMatch(/^1m \d+s$/);
    const first = await duration.textContent();
    await expect.poll(() => duration.textContent(), { timeout: 5000 }).not.toBe(first);
    expect(await duration.textContent()).toMatch(/^1m \d+s$/);

    await ok(ui.url, 'runs/update', { run_id: id, status: 'FINISHED', end_time: startTime + 90_000 });
    await expect.poll(() => duration.textContent(), { timeout: 15_000 }).toBe('1m 30s');
  });

  it('lists params with their values and narrows them with the search box, kept in the URL', async () => {
    const page = await ui.open(`/runs/${runId}`);
    await page.getByRole('tab', { name: /Parameters/ }).click();
    const rows = page.locator('table.kv-table tbody tr');
    await expect.poll(() => rows.count()).toBe(4);
    const paramValue = (key: string) =>
      page.locator('table.kv-table tr', { has: page.locator(`th:text-is("${key}")`) }).locator('td');
    expect(await paramValue('lr').textContent()).toBe('0.01');
    expect(await paramValue('optimizer').textContent()).toBe('adam');
    expect(await paramValue('n_estimators').textContent()).toBe('200');

    await page.getByRole('searchbox', { name: 'Search parameters' }).fill('ADAM');
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.locator('th').textContent()).toBe('optimizer');
    const url = new URL(page.url());
    expect(url.searchParams.get('tab')).toBe('params');
    expect(url.searchParams.get('q')).toBe('ADAM');
  });

  it('shows latest metric values with step and time, linking each metric to the charts section', async () => {
    const page = await ui.open(`/runs/${runId}?tab=metrics`);
    const loss = page.locator('table.kv-table tr', { has: page.getByRole('link', { name: 'loss' }) });
    await loss.waitFor();
    const cells = await loss.locator('td').allTextContents();
    expect(cells[0]).toBe('0.3');
    expect(cells[1]).toBe('2');
    await loss.getByRole('link', { name: 'loss' }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get('metric')).toBe('loss');
    expect(await page.locator('section#charts').count()).toBe(1);
  });

  it('separates system tags from user tags', async () => {
    const page = await ui.open(`/runs/${runId}?tab=tags`);
    const user = page.getByRole('table', { name: 'Tags', exact: true });
    await user.waitFor();
    expect(await user.locator('tbody th').allTextContents()).toEqual(['team']);
    const system = await page
      .getByRole('table', { name: 'System tags' })
      .locator('tbody th')
      .allTextContents();
    expect(system).toContain('mlflow.source.git.commit');
    expect(system).toContain('mlflow.parentRunId');
    expect(system.every((key) => key.startsWith('mlflow.'))).toBe(true);
  });

  it('browses artifacts: CSV as a table, JSON keys, an image, MLmodel flavors and signature, sandboxed HTML', async () => {
    const page = await ui.open(`/runs/${runId}?tab=artifacts`);
    const tree = page.getByRole('tree', { name: 'Artifact files' });
    await tree.waitFor();
    // Folders load lazily: nothing inside `data` is listed before it is opened.
    expect(await tree.locator('[data-path="data/sample.csv"]').count()).toBe(0);

    await selectArtifact(page, 'data/sample.csv');
    const csv = page.locator('table.csv-table');
    await csv.waitFor();
    expect(await csv.locator('thead th').allTextContents()).toEqual(['Row', 'customer', 'plan', 'note']);
    expect(await csv.locator('tbody tr').count()).toBe(3);
    expect(await csv.locator('tbody tr').nth(0).locator('td').allTextContents()).toEqual([
      '1',
      '1',
      'basic',
      'likes "fast" support',
    ]);
    expect(await csv.getByRole('cell', { name: 'premium, annual' }).count()).toBe(1);
    expect(new URL(page.url()).searchParams.get('path')).toBe('data/sample.csv');
    const download = page.getByRole('link', { name: 'Download' });
    expect(await download.getAttribute('href')).toBe(`/get-artifact?run_id=${runId}&path=data%2Fsample.csv`);

    await selectArtifact(page, 'metrics/summary.json');
    const json = page.locator('.json-tree');
    await json.waitFor();
    const keys = await json.locator('.json-key').allTextContents();
    expect(keys).toEqual(expect.arrayContaining(['accuracy', 'confusion', 'true_positive', 'classes']));
    expect(await json.locator('.json-string').allTextContents()).toEqual(['"churn"', '"stay"']);
    await page.getByRole('button', { name: /Collapse confusion/ }).click();
    await expect.poll(() => json.locator('.json-key', { hasText: 'true_positive' }).count()).toBe(0);

    await selectArtifact(page, 'plots/gradient.png');
    const image = page.getByRole('img', { name: 'gradient.png' });
    await image.waitFor();
    await expect
      // tsconfig.test.json has no DOM types: the element is read through its two image fields.
      .poll(() =>
        image.evaluate(
          (img) => (img as unknown as DecodedImage).complete && (img as unknown as DecodedImage).naturalWidth,
        ),
      )
      .toBe(96);

    await selectArtifact(page, 'model/MLmodel');
    const flavors = page.locator('.flavors-table tbody th');
    await flavors.first().waitFor();
    expect(await flavors.allTextContents()).toEqual(['python_function', 'sklearn']);
    const inputs = page.getByRole('table', { name: /Inputs/ });
    expect(await inputs.locator('tbody tr td:first-child').allTextContents()).toEqual(['tenure', 'plan']);
    expect(await inputs.locator('tbody tr td:nth-child(2)').allTextContents()).toEqual(['double', 'string']);
    expect(
      await page
        .getByRole('table', { name: /Outputs/ })
        .locator('tbody td')
        .first()
        .textContent(),
    ).toBe('(unnamed)');
    await screenshot(page, 'run-artifacts');

    await selectArtifact(page, 'report.html');
    const frame = page.locator('iframe.html-preview');
    await frame.waitFor();
    expect(await frame.getAttribute('sandbox')).toBe('');
    expect(await frame.getAttribute('src')).toBeNull();
    await page
      .frameLocator('iframe.html-preview')
      .getByRole('heading', { name: 'Evaluation report' })
      .waitFor();
    // The report's script did not run: the sandbox allows no scripts.
    const reportFrame = page.frames().find((f) => f !== page.mainFrame());
    expect(await reportFrame?.title()).toBe('report');

    await selectArtifact(page, 'model/model.pkl');
    await page.getByText('No preview for this kind of file').waitFor();
  });

  it('caps long text with "Show more", and opens a shared artifact link with its folders expanded', async () => {
    const page = await ui.open(`/runs/${runId}?tab=artifacts&path=train.log`);
    const text = page.locator('pre.text-view');
    await text.waitFor();
    expect(await text.textContent()).toContain('step 0 loss 1.000000');
    expect(await text.textContent()).not.toContain('step 5999 ');
    await page.getByText(/Showing the first 128 KiB/).waitFor();
    await page.getByRole('button', { name: 'Show more' }).click();
    await expect.poll(() => text.textContent()).toContain('step 5999 loss');

    const shared = await ui.open(`/runs/${runId}?tab=artifacts&path=data/sample.csv`);
    await shared.locator('table.csv-table').waitFor();
    const folder = shared.locator('[role="treeitem"][data-path="data"]');
    expect(await folder.getAttribute('aria-expanded')).toBe('true');
    expect(
      await shared.locator('[role="treeitem"][data-path="data/sample.csv"]').getAttribute('aria-selected'),
    ).toBe('true');
  });

  it('answers an unknown run with the server message', async () => {
    const page = await ui.open('/runs/0123456789abcdef0123456789abcdef');
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('RESOURCE_DOES_NOT_EXIST');
  });
});
