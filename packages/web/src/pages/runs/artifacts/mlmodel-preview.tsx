import { type MLmodel, parseMLmodel } from '@keel/core';
import { useMemo } from 'react';
import { ColumnHeadings } from '../../../components/column-headings';
import { messageOf } from '../../../components/error-notice';
import { formatBytes } from './format-bytes';
import {
  configValue,
  type SignatureField,
  type SignatureParam,
  signatureFields,
  signatureParams,
} from './mlmodel-view';
import { TextView } from './text-view';

/** Top-level `MLmodel` keys shown in the summary, with their labels. */
const SUMMARY_KEYS: readonly [keyof MLmodel & string, string][] = [
  ['mlflow_version', 'MLflow version'],
  ['utc_time_created', 'Created (UTC)'],
  ['model_uuid', 'Model UUID'],
  ['run_id', 'Run ID'],
  ['artifact_path', 'Artifact path'],
];

/**
 * An `MLmodel` file: its flavors with their settings, the signature's inputs, outputs and params as
 * tables, a few facts (MLflow version, creation time, size), and the YAML itself folded below.
 */
export function MlmodelPreview({ text }: { text: string }) {
  const parsed = useMemo(() => {
    try {
      return { model: parseMLmodel(text), error: undefined };
    } catch (error) {
      return { model: undefined, error: messageOf(error) };
    }
  }, [text]);
  if (parsed.model === undefined) {
    return (
      <>
        <p className="preview-note run-error small">This MLmodel could not be read: {parsed.error}</p>
        <TextView text={text} highlight="yaml" />
      </>
    );
  }
  const { model } = parsed;
  const facts = SUMMARY_KEYS.filter(([key]) => typeof model[key] === 'string' && model[key] !== '');
  return (
    <div className="mlmodel-preview">
      {(facts.length > 0 || typeof model.model_size_bytes === 'number') && (
        <dl className="run-facts run-compact">
          {facts.map(([key, label]) => (
            <div key={key} className="run-fact">
              <dt>{label}</dt>
              <dd className="mono" title={String(model[key])}>
                {String(model[key])}
              </dd>
            </div>
          ))}
          {typeof model.model_size_bytes === 'number' && (
            <div className="run-fact">
              <dt>Size</dt>
              <dd className="mono">{formatBytes(model.model_size_bytes)}</dd>
            </div>
          )}
        </dl>
      )}
      <Flavors flavors={model.flavors} />
      <Signature signature={model.signature ?? undefined} />
      <details className="raw-details">
        <summary>MLmodel file</summary>
        <TextView text={text} highlight="yaml" />
      </details>
    </div>
  );
}

function Flavors({ flavors }: { flavors: MLmodel['flavors'] }) {
  const names = Object.keys(flavors);
  return (
    <section aria-labelledby="mlmodel-flavors">
      <h3 id="mlmodel-flavors">Flavors</h3>
      {names.length === 0 ? (
        <p className="muted">This MLmodel declares no flavor.</p>
      ) : (
        <table className="data-table run-compact flavors-table">
          <caption className="visually-hidden">Flavors</caption>
          <ColumnHeadings headings={['Flavor', 'Settings']} />
          <tbody>
            {names.map((name) => (
              <tr key={name}>
                <th scope="row" className="run-key mono">
                  {name}
                </th>
                <td>
                  <ul className="config-list mono">
                    {Object.entries(flavors[name] ?? {}).map(([key, value]) => (
                      <li key={key}>
                        <span className="muted">{key}:</span> {configValue(value)}
                      </li>
                    ))}
                  </ul>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Signature({ signature }: { signature: MLmodel['signature'] | undefined }) {
  const parts: [string, string | null | undefined][] = [
    ['Inputs', signature?.inputs],
    ['Outputs', signature?.outputs],
  ];
  const hasAny = parts.some(([, json]) => typeof json === 'string') || typeof signature?.params === 'string';
  return (
    <section aria-labelledby="mlmodel-signature">
      <h3 id="mlmodel-signature">Signature</h3>
      {!hasAny ? (
        <p className="muted">
          No signature. Log the model with <code>signature=infer_signature(X, model.predict(X))</code> so that
          serving checks its inputs.
        </p>
      ) : (
        <div className="signature-tables">
          {parts.map(([title, json]) =>
            typeof json === 'string' ? <SchemaTable key={title} title={title} json={json} /> : null,
          )}
          {typeof signature?.params === 'string' && <ParamsTable json={signature.params} />}
        </div>
      )}
    </section>
  );
}

function readPart<T>(read: () => T): { value: T; error: undefined } | { value: undefined; error: string } {
  try {
    return { value: read(), error: undefined };
  } catch (error) {
    return { value: undefined, error: messageOf(error) };
  }
}

function SchemaTable({ title, json }: { title: string; json: string }) {
  const fields = readPart<SignatureField[]>(() => signatureFields(json));
  if (fields.value === undefined) {
    return <p className="run-error small">{`${title}: ${fields.error}`}</p>;
  }
  const tensors = fields.value.some((field) => field.shape !== undefined);
  return (
    <table className="data-table run-compact signature-table">
      <caption>
        {title} <span className="muted">({fields.value.length})</span>
      </caption>
      <ColumnHeadings headings={['Name', 'Type', tensors ? 'Shape' : 'Required']} />
      <tbody>
        {fields.value.map((field, index) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: unnamed fields are told apart by position
          <tr key={index}>
            <td className="mono">{field.name || <span className="muted">(unnamed)</span>}</td>
            <td className="mono">{field.type}</td>
            <td className="mono">{tensors ? (field.shape ?? '—') : field.required ? 'yes' : 'no'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ParamsTable({ json }: { json: string }) {
  const params = readPart<SignatureParam[]>(() => signatureParams(json));
  if (params.value === undefined) return <p className="run-error small">{`Params: ${params.error}`}</p>;
  return (
    <table className="data-table run-compact signature-table">
      <caption>
        Params <span className="muted">({params.value.length})</span>
      </caption>
      <ColumnHeadings headings={['Name', 'Type', 'Default']} />
      <tbody>
        {params.value.map((param) => (
          <tr key={param.name}>
            <td className="mono">{param.name}</td>
            <td className="mono">
              {param.type}
              {param.shape ? ` ${param.shape}` : ''}
            </td>
            <td className="mono">{param.defaultValue}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
