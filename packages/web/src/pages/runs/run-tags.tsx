import type { KeyValue } from '@keel/core';
import { KeyValueTable } from './key-value-table';
import { splitTags } from './run-summary';

/** The tags tab: the user's tags first, then MLflow's system tags (`mlflow.*`). */
export function RunTags({ tags }: { tags: readonly KeyValue[] }) {
  const { system, user } = splitTags(tags);
  return (
    <div className="run-tab-body">
      <section className="run-card" aria-labelledby="user-tags-heading">
        <h2 id="user-tags-heading">
          Tags <span className="run-count">{user.length}</span>
        </h2>
        {user.length === 0 ? (
          <p className="muted">
            No tags of your own. Add one with <code>mlflow.set_tag("team", "growth")</code>.
          </p>
        ) : (
          <KeyValueTable caption="Tags" headings={['Tag', 'Value']} rows={user} />
        )}
      </section>
      <section className="run-card" aria-labelledby="system-tags-heading">
        <h2 id="system-tags-heading">
          System tags <span className="run-count">{system.length}</span>
        </h2>
        <p className="muted small">Set by MLflow clients and Keel (names starting with mlflow.).</p>
        {system.length > 0 && (
          <KeyValueTable caption="System tags" headings={['Tag', 'Value']} rows={system} />
        )}
      </section>
    </div>
  );
}
