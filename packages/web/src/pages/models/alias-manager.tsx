import type { ModelVersion, RegisteredModelAlias } from '@keel/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useRef, useState } from 'react';
import { deleteModelAlias, setModelAlias } from '../../api/registry';
import { ErrorNotice } from '../../components/error-notice';
import { Link } from '../../router/link';
import { versionHref } from './model-bits';

/** MLflow's alias rule (letters, digits, `_`, `-`; `latest` and `v<n>` reserved), checked before sending. */
function aliasProblem(alias: string): string | undefined {
  if (alias === '') return 'Type an alias name, e.g. champion.';
  if (!/^[\w-]+$/.test(alias)) return 'Alias names may only contain letters, digits, _ and -.';
  if (/^latest$/i.test(alias) || /^v\d+$/i.test(alias)) return `'${alias}' is reserved.`;
  return undefined;
}

/** Props of {@link AliasManager}. */
export interface AliasManagerProps {
  model: string;
  aliases: readonly RegisteredModelAlias[];
  /** Newest first. */
  versions: readonly ModelVersion[];
}

/**
 * The aliases of a model, each movable and deletable, and a form that sets an alias on a version
 * (moving it when it exists). Changes go through `registered-models/alias` and show at once: every
 * registry query of the model is refetched.
 */
export function AliasManager({ model, aliases, versions }: AliasManagerProps) {
  const queryClient = useQueryClient();
  const formId = useId();
  const versionSelect = useRef<HTMLSelectElement>(null);
  const [alias, setAlias] = useState('');
  const [version, setVersion] = useState(versions[0]?.version ?? '');
  const [problem, setProblem] = useState<string>();
  const refresh = () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: ['registry', model] }),
      queryClient.invalidateQueries({ queryKey: ['registered-models'] }),
    ]);

  const save = useMutation({
    mutationFn: (change: { alias: string; version: string }) =>
      setModelAlias(model, change.alias, change.version),
    onSuccess: async () => {
      setAlias('');
      await refresh();
    },
  });
  const remove = useMutation({
    mutationFn: (name: string) => deleteModelAlias(model, name),
    onSuccess: refresh,
  });

  const existing = aliases.find((entry) => entry.alias === alias.trim());
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const name = alias.trim();
    const invalid = aliasProblem(name);
    setProblem(invalid);
    if (invalid === undefined && version !== '') save.mutate({ alias: name, version });
  };
  const startMove = (entry: RegisteredModelAlias) => {
    setAlias(entry.alias);
    setVersion(versions.find((v) => v.version !== entry.version)?.version ?? entry.version);
    versionSelect.current?.focus();
  };

  return (
    <section className="pane" aria-labelledby={`${formId}-title`}>
      <h2 id={`${formId}-title`}>Aliases</h2>
      {aliases.length === 0 ? (
        <p className="muted small">No aliases yet. An alias (champion, challenger) names one version.</p>
      ) : (
        <ul className="alias-list">
          {aliases.map((entry) => (
            <li key={entry.alias} data-alias={entry.alias}>
              <span className="model-alias">@{entry.alias}</span>
              <span className="muted">→</span>
              <Link href={versionHref(model, entry.version)}>Version {entry.version}</Link>
              <span className="alias-actions">
                <button
                  type="button"
                  className="button ghost small"
                  onClick={() => startMove(entry)}
                  aria-label={`Move alias ${entry.alias}`}
                >
                  Move
                </button>
                <button
                  type="button"
                  className="button ghost small danger-text"
                  disabled={remove.isPending}
                  onClick={() => remove.mutate(entry.alias)}
                  aria-label={`Delete alias ${entry.alias}`}
                >
                  Delete
                </button>
              </span>
            </li>
          ))}
        </ul>
      )}
      <form className="alias-form" onSubmit={submit} aria-label="Set an alias">
        <label className="form-field">
          <span>Alias</span>
          <input
            className="input"
            value={alias}
            onChange={(event) => setAlias(event.target.value)}
            placeholder="champion"
            list={`${formId}-aliases`}
            autoComplete="off"
            aria-invalid={problem !== undefined}
          />
          <datalist id={`${formId}-aliases`}>
            {aliases.map((entry) => (
              <option key={entry.alias} value={entry.alias} />
            ))}
          </datalist>
        </label>
        <label className="form-field">
          <span>Version</span>
          <select
            ref={versionSelect}
            className="input"
            value={version}
            onChange={(event) => setVersion(event.target.value)}
          >
            {versions.map((v) => (
              <option key={v.version} value={v.version}>
                Version {v.version}
                {v.current_stage !== 'None' ? ` (${v.current_stage})` : ''}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" className="button primary" disabled={save.isPending || versions.length === 0}>
          {existing && existing.version !== version ? 'Move alias' : 'Set alias'}
        </button>
      </form>
      {problem && (
        <p className="form-error" role="alert">
          {problem}
        </p>
      )}
      {save.error && <ErrorNotice error={save.error} title="Could not set the alias" />}
      {remove.error && <ErrorNotice error={remove.error} title="Could not delete the alias" />}
    </section>
  );
}
