import { CodeSnippet } from './code-snippet';

/** Props of {@link FirstRunSnippet}. */
export interface FirstRunSnippetProps {
  /** Experiment the snippet logs to. @default 'my-first-experiment' */
  experimentName?: string;
}

/**
 * How to log a first run to this server, from Python (MLflow's client) and from TypeScript (Keel's
 * SDK). Shown by empty states; the tracking URI is this page's own origin.
 */
export function FirstRunSnippet({ experimentName = 'my-first-experiment' }: FirstRunSnippetProps) {
  const origin = window.location.origin;
  const name = JSON.stringify(experimentName);
  const python = [
    'pip install mlflow',
    `export MLFLOW_TRACKING_URI=${origin}`,
    'python - <<EOF',
    'import mlflow',
    `mlflow.set_experiment(${name})`,
    'with mlflow.start_run(run_name="baseline"):',
    '    mlflow.log_param("lr", 0.01)',
    '    mlflow.log_metric("acc", 0.91)',
    'EOF',
  ].join('\n');
  const typescript = [
    "import { KeelClient } from '@keel/sdk';",
    '',
    `const keel = new KeelClient({ trackingUri: '${origin}' });`,
    `const run = await keel.startRun({ experiment: ${name}, name: 'baseline' });`,
    'await run.logParams({ lr: 0.01 });',
    "run.logMetric('acc', 0.91);",
    'await run.end();',
  ].join('\n');
  return (
    <div className="snippets">
      <CodeSnippet label="Python (MLflow client)" code={python} />
      <CodeSnippet label="TypeScript (Keel SDK)" code={typescript} />
    </div>
  );
}
