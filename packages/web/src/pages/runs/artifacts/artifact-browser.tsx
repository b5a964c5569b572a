import { useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { CodeSnippet } from '../../../components/code-snippet';
import { EmptyState } from '../../../components/empty-state';
import { ErrorNotice } from '../../../components/error-notice';
import { ancestorFolders } from '../run-view-state';
import { ArtifactPreview } from './artifact-preview';
import { ArtifactTree, artifactListQuery } from './artifact-tree';

/** Props of {@link ArtifactBrowser}. */
export interface ArtifactBrowserProps {
  runId: string;
  /** The selected file or folder (`?path=`), run-relative; `''` for none. */
  selected: string;
  onSelect: (path: string) => void;
}

/**
 * The artifacts tab: the run's files as a lazily loaded tree on the left, the selected file's
 * preview (or folder's contents) on the right. The selection is the URL's `path`.
 */
export function ArtifactBrowser({ runId, selected, onSelect }: ArtifactBrowserProps) {
  const root = useQuery(artifactListQuery(runId, ''));
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(() => new Set(ancestorFolders(selected)));
  // A selection from the URL (a shared link, back / forward) opens the folders above it.
  useEffect(() => {
    setExpanded((open) => {
      const missing = ancestorFolders(selected).filter((folder) => !open.has(folder));
      return missing.length === 0 ? open : new Set([...open, ...missing]);
    });
  }, [selected]);
  const toggle = (folder: string, open: boolean) =>
    setExpanded((current) => {
      const next = new Set(current);
      if (open) next.add(folder);
      else next.delete(folder);
      return next;
    });

  if (root.error) return <ErrorNotice error={root.error} title="Could not list the artifacts" />;
  if (root.isPending) return <p className="muted loading-line">Loading artifacts…</p>;
  if (root.data.length === 0) {
    return (
      <EmptyState title="No artifacts logged">
        <p>Files a run logs — models, plots, reports, data samples — appear here. For example:</p>
        <div className="snippets">
          <CodeSnippet
            label="Python"
            code={'mlflow.log_artifact("confusion.png")\nmlflow.log_artifacts("outputs", "results")'}
          />
          <CodeSnippet label="Shell" code={`keel artifacts log ${runId} ./outputs --artifact-path results`} />
        </div>
      </EmptyState>
    );
  }
  return (
    <div className="artifact-browser">
      <div className="artifact-tree-pane">
        <ArtifactTree
          runId={runId}
          rootEntries={root.data}
          selected={selected}
          expanded={expanded}
          onSelect={onSelect}
          onToggle={toggle}
        />
      </div>
      <section className="artifact-preview-pane" aria-label="Artifact preview">
        <ArtifactPreview key={selected} runId={runId} path={selected} onSelect={onSelect} />
      </section>
    </div>
  );
}
