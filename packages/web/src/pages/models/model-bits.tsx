/** Small pieces the registry pages share: stage badges, alias chips, links to versions and runs. */
import type { KeyValue } from '@keel/core';
import { ColumnHeadings } from '../../components/column-headings';
import { Link } from '../../router/link';
import { buildPath } from '../../router/match-route';

/** `/models/:name` */
export function modelHref(name: string): string {
  return buildPath('/models/:name', { name });
}

/** `/models/:name/versions/:version` */
export function versionHref(name: string, version: string): string {
  return buildPath('/models/:name/versions/:version', { name, version });
}

/** A model-version stage (`None`, `Staging`, `Production`, `Archived`) as a small badge. */
export function StageBadge({ stage }: { stage: string | undefined }) {
  const value = stage ?? 'None';
  return <span className={`stage-badge stage-${value.toLowerCase()}`}>{value}</span>;
}

/** Alias names as chips, e.g. `@champion`. */
export function AliasChips({ aliases }: { aliases: readonly string[] | undefined }) {
  if (aliases === undefined || aliases.length === 0) return <span className="empty-cell">—</span>;
  return (
    <span className="chip-row">
      {aliases.map((alias) => (
        <span key={alias} className="model-alias" data-alias={alias}>
          @{alias}
        </span>
      ))}
    </span>
  );
}

/** A link to the run a version was registered from, or `—`. */
export function RunLink({ runId }: { runId: string | undefined }) {
  if (runId === undefined || runId === '') return <span className="empty-cell">—</span>;
  return (
    <Link href={buildPath('/runs/:id', { id: runId })} className="mono" title={runId}>
      {runId.slice(0, 8)}
    </Link>
  );
}

/** Tags as a two-column table, or a short note when there are none. */
export function TagTable({ tags, caption }: { tags: readonly KeyValue[] | undefined; caption: string }) {
  const visible = (tags ?? []).filter((tag) => !tag.key.startsWith('mlflow.'));
  if (visible.length === 0) return <p className="muted small">No tags.</p>;
  return (
    <table className="data-table dense">
      <caption className="visually-hidden">{caption}</caption>
      <ColumnHeadings headings={['Key', 'Value']} />
      <tbody>
        {visible.map((tag) => (
          <tr key={tag.key}>
            <td className="mono">{tag.key}</td>
            <td className="mono">{tag.value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
