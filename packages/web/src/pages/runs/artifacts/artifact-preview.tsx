import type { FileInfo } from '@keel/core';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { type ReactNode, useState } from 'react';
import { artifactUrl, readArtifact } from '../../../api/artifacts';
import { ColumnHeadings } from '../../../components/column-headings';
import { ErrorNotice } from '../../../components/error-notice';
import { artifactListQuery, baseName, sortEntries } from './artifact-tree';
import { CsvPreview } from './csv-preview';
import { formatBytes } from './format-bytes';
import { JsonPreview } from './json-preview';
import { MlmodelPreview } from './mlmodel-preview';
import { decodeText, looksLikeText, type PreviewKind, previewKind } from './preview-kind';
import { TextView } from './text-view';

/** Bytes of a text file shown at first; "Show more" reads four times as much each time. */
export const TEXT_PREVIEW_BYTES = 128 * 1024;
/** The most a text preview reads, however often "Show more" is pressed. */
const TEXT_PREVIEW_MAX_BYTES = 32 * 1024 * 1024;
/** Files of a structured kind (JSON, MLmodel, HTML) larger than this are shown as text or not at all. */
const STRUCTURED_MAX_BYTES = 5 * 1024 * 1024;
/** Bytes of a CSV file read for its first rows. */
const CSV_PREVIEW_BYTES = 4 * 1024 * 1024;

/** Props of {@link ArtifactPreview}. */
export interface ArtifactPreviewProps {
  runId: string;
  /** The selected path; `''` for none. */
  path: string;
  onSelect: (path: string) => void;
}

/**
 * The preview pane: the selected file shown by its kind (text, JSON, YAML, image, CSV table,
 * MLmodel, sandboxed HTML) with a download link, or a folder's entries.
 */
export function ArtifactPreview({ runId, path, onSelect }: ArtifactPreviewProps) {
  const parent = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
  const listing = useQuery({ ...artifactListQuery(runId, parent), enabled: path !== '' });
  if (path === '') {
    return (
      <div className="preview-placeholder">
        <p className="muted">Select a file in the tree to preview it.</p>
      </div>
    );
  }
  if (listing.error)
    return <ErrorNotice error={listing.error} title={`Could not list ${parent || 'the artifacts'}`} />;
  if (listing.isPending) return <p className="muted loading-line">Loading…</p>;
  const entry = listing.data.find((file) => file.path === path);
  if (entry === undefined) {
    return (
      <div className="preview-placeholder">
        <p>
          This run has no artifact <code>{path}</code>.
        </p>
      </div>
    );
  }
  return entry.is_dir ? (
    <FolderContents runId={runId} folder={entry} onSelect={onSelect} />
  ) : (
    <FilePreview runId={runId} file={entry} />
  );
}

function FolderContents({
  runId,
  folder,
  onSelect,
}: {
  runId: string;
  folder: FileInfo;
  onSelect: (path: string) => void;
}) {
  const listing = useQuery(artifactListQuery(runId, folder.path));
  return (
    <>
      <PreviewHeader name={`${baseName(folder.path)}/`} path={folder.path} detail="folder" />
      {listing.error ? (
        <ErrorNotice error={listing.error} title={`Could not list ${folder.path}`} />
      ) : listing.isPending ? (
        <p className="muted loading-line">Loading…</p>
      ) : listing.data.length === 0 ? (
        <p className="muted preview-body">This folder is empty.</p>
      ) : (
        <div className="preview-body">
          <table className="data-table run-compact">
            <caption className="visually-hidden">Contents of {folder.path}</caption>
            <ColumnHeadings headings={['Name', 'Size']} />
            <tbody>
              {sortEntries(listing.data).map((entry) => (
                <tr key={entry.path}>
                  <td>
                    <button type="button" className="button inline" onClick={() => onSelect(entry.path)}>
                      {baseName(entry.path)}
                      {entry.is_dir ? '/' : ''}
                    </button>
                  </td>
                  <td className="mono">
                    {entry.file_size === undefined ? '—' : formatBytes(entry.file_size)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

function PreviewHeader(props: { name: string; path: string; detail: string; downloadHref?: string }) {
  return (
    <div className="preview-header">
      <div className="preview-title">
        <h2 title={props.path}>{props.name}</h2>
        <span className="muted small">
          <span className="mono">{props.path}</span> · {props.detail}
        </span>
      </div>
      {props.downloadHref !== undefined && (
        <a className="button small" href={props.downloadHref} download={props.name}>
          Download
        </a>
      )}
    </div>
  );
}

const KIND_LABELS: Record<PreviewKind, string> = {
  mlmodel: 'MLmodel',
  json: 'JSON',
  yaml: 'YAML',
  csv: 'CSV',
  tsv: 'TSV',
  image: 'image',
  html: 'HTML',
  text: 'text',
  unknown: 'file',
  binary: 'binary',
};

function FilePreview({ runId, file }: { runId: string; file: FileInfo }) {
  const kind = previewKind(file.path);
  const name = baseName(file.path);
  const size = file.file_size === undefined ? '' : `${formatBytes(file.file_size)} · `;
  return (
    <>
      <PreviewHeader
        name={name}
        path={file.path}
        detail={`${size}${KIND_LABELS[kind]}`}
        downloadHref={artifactUrl(runId, file.path)}
      />
      <div className="preview-body">
        <PreviewBody runId={runId} file={file} kind={kind} />
      </div>
    </>
  );
}

function PreviewBody({ runId, file, kind }: { runId: string; file: FileInfo; kind: PreviewKind }) {
  const tooLarge = (file.file_size ?? 0) > STRUCTURED_MAX_BYTES;
  switch (kind) {
    case 'image':
      return <ImagePreview src={artifactUrl(runId, file.path)} name={baseName(file.path)} />;
    case 'html':
      return tooLarge ? <TooLarge what="an HTML preview" /> : <HtmlPreview runId={runId} file={file} />;
    case 'csv':
    case 'tsv':
      return (
        <Loaded runId={runId} path={file.path} maxBytes={CSV_PREVIEW_BYTES}>
          {(text, truncated) => (
            <CsvPreview text={text} bytesTruncated={truncated} delimiter={kind === 'tsv' ? '\t' : ','} />
          )}
        </Loaded>
      );
    case 'json':
      return tooLarge ? (
        <TextPreview runId={runId} path={file.path} highlight="plain" />
      ) : (
        <Loaded runId={runId} path={file.path} maxBytes={STRUCTURED_MAX_BYTES}>
          {(text) => <JsonPreview text={text} />}
        </Loaded>
      );
    case 'mlmodel':
      return tooLarge ? (
        <TextPreview runId={runId} path={file.path} highlight="yaml" />
      ) : (
        <Loaded runId={runId} path={file.path} maxBytes={STRUCTURED_MAX_BYTES}>
          {(text) => <MlmodelPreview text={text} />}
        </Loaded>
      );
    case 'yaml':
      return <TextPreview runId={runId} path={file.path} highlight="yaml" />;
    case 'text':
      return <TextPreview runId={runId} path={file.path} highlight="plain" />;
    case 'unknown':
      return <TextPreview runId={runId} path={file.path} highlight="plain" sniff />;
    case 'binary':
      return <NoPreview />;
    default:
      return kind satisfies never;
  }
}

function useArtifactBytes(runId: string, path: string, maxBytes: number) {
  return useQuery({
    queryKey: ['artifact-bytes', runId, path, maxBytes],
    queryFn: ({ signal }) => readArtifact(runId, path, maxBytes, signal),
    placeholderData: keepPreviousData,
  });
}

/** Reads up to `maxBytes` of a file as UTF-8 text and hands it to `children`. */
function Loaded(props: {
  runId: string;
  path: string;
  maxBytes: number;
  children: (text: string, truncated: boolean) => ReactNode;
}) {
  const read = useArtifactBytes(props.runId, props.path, props.maxBytes);
  if (read.error) return <ErrorNotice error={read.error} title={`Could not read ${props.path}`} />;
  if (read.data === undefined) return <p className="muted loading-line">Loading…</p>;
  return <>{props.children(decodeText(read.data.bytes, read.data.truncated), read.data.truncated)}</>;
}

/** Text with a size cap and "Show more"; `sniff` shows a file of unknown type only when it is text. */
function TextPreview(props: { runId: string; path: string; highlight: 'plain' | 'yaml'; sniff?: boolean }) {
  const [limit, setLimit] = useState(TEXT_PREVIEW_BYTES);
  const read = useArtifactBytes(props.runId, props.path, limit);
  if (read.error) return <ErrorNotice error={read.error} title={`Could not read ${props.path}`} />;
  if (read.data === undefined) return <p className="muted loading-line">Loading…</p>;
  const { bytes, truncated, totalBytes } = read.data;
  if (props.sniff && !looksLikeText(bytes)) return <NoPreview />;
  const text = decodeText(bytes, truncated);
  return (
    <>
      <TextView text={text} highlight={props.highlight} />
      {truncated && (
        <p className="preview-more muted small" aria-live="polite">
          Showing the first {formatBytes(bytes.length)}
          {totalBytes === undefined ? '' : ` of ${formatBytes(totalBytes)}`}.{' '}
          {limit < TEXT_PREVIEW_MAX_BYTES ? (
            <button
              type="button"
              className="button small"
              disabled={read.isFetching}
              onClick={() => setLimit((current) => Math.min(current * 4, TEXT_PREVIEW_MAX_BYTES))}
            >
              {read.isFetching ? 'Loading…' : 'Show more'}
            </button>
          ) : (
            'Download the file to see the rest.'
          )}
        </p>
      )}
    </>
  );
}

function ImagePreview({ src, name }: { src: string; name: string }) {
  const [failed, setFailed] = useState(false);
  if (failed) return <p className="muted">This image could not be displayed; download it to open it.</p>;
  return (
    <div className="image-preview">
      {/* An <img> never runs an SVG's scripts, unlike inlining or an <object>. */}
      <img src={src} alt={name} onError={() => setFailed(true)} />
    </div>
  );
}

/**
 * An HTML report in an iframe with `sandbox=""`: no scripts, no forms, no same-origin access, so a
 * logged file can never act as Keel's origin. The HTML is passed as `srcdoc`, never as a URL.
 */
function HtmlPreview({ runId, file }: { runId: string; file: FileInfo }) {
  const read = useArtifactBytes(runId, file.path, STRUCTURED_MAX_BYTES);
  if (read.error) return <ErrorNotice error={read.error} title={`Could not read ${file.path}`} />;
  if (read.data === undefined) return <p className="muted loading-line">Loading…</p>;
  return (
    <>
      <p className="muted small preview-note">Shown without scripts. Download the file to open it in full.</p>
      <iframe
        className="html-preview"
        sandbox=""
        srcDoc={decodeText(read.data.bytes, read.data.truncated)}
        title={`HTML report ${baseName(file.path)}`}
        referrerPolicy="no-referrer"
      />
    </>
  );
}

function TooLarge({ what }: { what: string }) {
  return (
    <p className="muted">
      This file is larger than {formatBytes(STRUCTURED_MAX_BYTES)}, too large for {what}. Download it to open
      it.
    </p>
  );
}

function NoPreview() {
  return <p className="muted">No preview for this kind of file. Download it to open it.</p>;
}
