import type { KeyValue } from '@keel/core';
import { useEffect, useState } from 'react';
import { EmptyState } from '../../components/empty-state';
import { KeyValueTable } from './key-value-table';

/** Props of {@link RunParams}. */
export interface RunParamsProps {
  params: readonly KeyValue[];
  /** The search text (kept in the URL as `q`). */
  search: string;
  onSearch: (search: string) => void;
}

/** The params tab: every param sorted by key, with a search over keys and values. */
export function RunParams({ params, search, onSearch }: RunParamsProps) {
  const [draft, setDraft] = useState(search);
  useEffect(() => setDraft(search), [search]);
  if (params.length === 0) {
    return (
      <EmptyState title="No parameters logged">
        <p>
          Log parameters from your training code, e.g.{' '}
          <code>
            mlflow.log_params({'{'}"lr": 0.01{'}'})
          </code>{' '}
          in Python or{' '}
          <code>
            run.logParams({'{'} lr: 0.01 {'}'})
          </code>{' '}
          with the Keel SDK.
        </p>
      </EmptyState>
    );
  }
  const needle = draft.trim().toLowerCase();
  const shown = [...params]
    .sort((a, b) => a.key.localeCompare(b.key))
    .filter(
      (p) => needle === '' || p.key.toLowerCase().includes(needle) || p.value.toLowerCase().includes(needle),
    );
  return (
    <div className="run-tab-body">
      <div className="toolbar">
        <div className="search-field">
          <label htmlFor="param-search" className="visually-hidden">
            Search parameters
          </label>
          <input
            id="param-search"
            type="search"
            className="input"
            placeholder="Search parameters by name or value"
            value={draft}
            onChange={(event) => {
              setDraft(event.target.value);
              onSearch(event.target.value);
            }}
          />
        </div>
        <span className="muted small toolbar-count" aria-live="polite">
          {shown.length === params.length
            ? `${params.length} parameters`
            : `${shown.length} of ${params.length} parameters`}
        </span>
      </div>
      {shown.length === 0 ? (
        <p className="muted">
          No parameter matches <code>{draft}</code>.
        </p>
      ) : (
        <KeyValueTable
          caption="Parameters"
          headings={['Parameter', 'Value']}
          rows={shown.map((p) => ({ key: p.key, value: p.value }))}
        />
      )}
    </div>
  );
}
