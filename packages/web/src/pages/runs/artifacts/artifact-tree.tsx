import type { FileInfo } from '@keel/core';
import { useQuery } from '@tanstack/react-query';
import type { KeyboardEvent, MouseEvent } from 'react';
import { listArtifacts } from '../../../api/artifacts';
import { messageOf } from '../../../components/error-notice';
import { formatBytes } from './format-bytes';

/** The TanStack Query options of one artifact folder's listing (shared by the tree and the preview). */
export function artifactListQuery(runId: string, dir: string) {
  return {
    queryKey: ['artifacts', runId, dir],
    queryFn: ({ signal }: { signal: AbortSignal }) => listArtifacts(runId, dir, signal),
  };
}

/** A file or folder's own name: the last segment of its run-relative path. */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Folders first, then files, each by name. */
export function sortEntries(entries: readonly FileInfo[]): FileInfo[] {
  return [...entries].sort((a, b) =>
    a.is_dir === b.is_dir ? baseName(a.path).localeCompare(baseName(b.path)) : a.is_dir ? -1 : 1,
  );
}

/** Props of {@link ArtifactTree}. */
export interface ArtifactTreeProps {
  runId: string;
  /** The root's entries (already loaded by the browser). */
  rootEntries: readonly FileInfo[];
  /** The selected path (file or folder). */
  selected: string;
  expanded: ReadonlySet<string>;
  onSelect: (path: string) => void;
  onToggle: (folder: string, open: boolean) => void;
}

/**
 * The artifact tree: folders load their entries when first opened (`artifacts/list` with `path`).
 * An ARIA tree: Up / Down move, Right opens a folder (or enters it), Left closes it (or goes to its
 * parent), Enter / Space select, Home / End jump.
 */
export function ArtifactTree(props: ArtifactTreeProps) {
  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const item = (event.target as HTMLElement).closest<HTMLElement>('[role="treeitem"]');
    if (item === null) return;
    const path = item.dataset.path ?? '';
    const isDir = item.dataset.dir === 'true';
    const isOpen = item.getAttribute('aria-expanded') === 'true';
    const items = [...event.currentTarget.querySelectorAll<HTMLElement>('[role="treeitem"]')];
    const index = items.indexOf(item);
    const focus = (target: HTMLElement | null | undefined) => {
      if (target) {
        event.preventDefault();
        target.focus();
      }
    };
    switch (event.key) {
      case 'ArrowDown':
        return focus(items[index + 1]);
      case 'ArrowUp':
        return focus(items[index - 1]);
      case 'Home':
        return focus(items[0]);
      case 'End':
        return focus(items[items.length - 1]);
      case 'ArrowRight':
        event.preventDefault();
        if (isDir && !isOpen) props.onToggle(path, true);
        else if (isDir) focus(items[index + 1]);
        return;
      case 'ArrowLeft':
        event.preventDefault();
        if (isDir && isOpen) props.onToggle(path, false);
        else focus(item.parentElement?.closest<HTMLElement>('[role="treeitem"]'));
        return;
      case 'Enter':
      case ' ':
        event.preventDefault();
        props.onSelect(path);
        if (isDir) props.onToggle(path, !isOpen);
        return;
      default:
        return;
    }
  };
  // One item is in the tab order: the selected one, or the first when nothing is selected.
  const tabStop = props.selected !== '' ? props.selected : (sortEntries(props.rootEntries)[0]?.path ?? '');
  return (
    <div className="artifact-tree" role="tree" aria-label="Artifact files" onKeyDown={onKeyDown}>
      {sortEntries(props.rootEntries).map((entry) => (
        <TreeNode key={entry.path} entry={entry} level={1} tabStop={tabStop} {...props} />
      ))}
    </div>
  );
}

function TreeNode(props: ArtifactTreeProps & { entry: FileInfo; level: number; tabStop: string }) {
  const { entry, level, selected, expanded, onSelect, onToggle } = props;
  const open = entry.is_dir && expanded.has(entry.path);
  const name = baseName(entry.path);
  const onClick = (event: MouseEvent<HTMLDivElement>) => {
    // Clicks inside an open folder's children belong to those children.
    if ((event.target as HTMLElement).closest('[role="treeitem"]') !== event.currentTarget) return;
    onSelect(entry.path);
    // A click on a closed folder opens it; on the already selected folder it toggles it.
    if (entry.is_dir && (!open || selected === entry.path)) onToggle(entry.path, !open);
  };
  return (
    // biome-ignore lint/a11y/useKeyWithClickEvents: the tree's onKeyDown handles the keys of every item
    <div
      role="treeitem"
      aria-level={level}
      aria-selected={selected === entry.path}
      aria-expanded={entry.is_dir ? open : undefined}
      data-path={entry.path}
      data-dir={entry.is_dir}
      tabIndex={props.tabStop === entry.path ? 0 : -1}
      className="artifact-tree-node"
      onClick={onClick}
    >
      <div
        className="artifact-tree-row"
        style={{ paddingLeft: `${8 + (level - 1) * 16}px` }}
        title={entry.path}
      >
        <span className="artifact-tree-chevron" aria-hidden="true">
          {entry.is_dir && (
            <svg width="10" height="10" viewBox="0 0 10 10" data-open={open} aria-hidden="true">
              <path d="M3 1.5 7 5 3 8.5" fill="none" stroke="currentColor" strokeWidth="1.6" />
            </svg>
          )}
        </span>
        <FileIcon isDir={entry.is_dir} open={open} />
        <span className="artifact-tree-name">{name}</span>
        {!entry.is_dir && entry.file_size !== undefined && (
          <span className="artifact-tree-size">{formatBytes(entry.file_size)}</span>
        )}
      </div>
      {open && <FolderChildren {...props} />}
    </div>
  );
}

function FolderChildren(props: ArtifactTreeProps & { entry: FileInfo; level: number; tabStop: string }) {
  const listing = useQuery(artifactListQuery(props.runId, props.entry.path));
  const indent = { paddingLeft: `${8 + props.level * 16 + 18}px` };
  if (listing.isPending) {
    return (
      <p className="artifact-tree-note muted" style={indent}>
        Loading…
      </p>
    );
  }
  if (listing.error) {
    return (
      <p className="artifact-tree-note run-error" style={indent} role="alert">
        {messageOf(listing.error)}
      </p>
    );
  }
  if (listing.data.length === 0) {
    return (
      <p className="artifact-tree-note muted" style={indent}>
        Empty folder
      </p>
    );
  }
  return (
    // biome-ignore lint/a11y/useSemanticElements: the children of an ARIA treeitem are a group, not a fieldset
    <div role="group">
      {sortEntries(listing.data).map((child) => (
        <TreeNode key={child.path} {...props} entry={child} level={props.level + 1} />
      ))}
    </div>
  );
}

function FileIcon({ isDir, open }: { isDir: boolean; open: boolean }) {
  if (isDir) {
    return (
      <svg
        className="artifact-tree-icon folder"
        width="14"
        height="14"
        viewBox="0 0 16 16"
        aria-hidden="true"
      >
        <path
          d={
            open
              ? 'M1.5 3.5h4l1.5 1.5h7.5v1.5H4L1.5 13z M4 6.5h11L12.5 13h-11z'
              : 'M1.5 3.5h4l1.5 1.5h7.5v8.5h-13z'
          }
          fill="currentColor"
        />
      </svg>
    );
  }
  return (
    <svg className="artifact-tree-icon file" width="14" height="14" viewBox="0 0 16 16" aria-hidden="true">
      <path d="M3.5 1.5h6l3 3v10h-9z M9.5 1.5v3h3" fill="none" stroke="currentColor" strokeWidth="1.2" />
    </svg>
  );
}
