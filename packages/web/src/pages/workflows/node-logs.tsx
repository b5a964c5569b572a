import { useEffect, useMemo, useRef, useState } from 'react';
import { followNodeLogs, type LogChunk } from '../../api/workflows';

/** Chunks kept in the page; older ones are dropped (the full log is at the API's logs URL). */
const MAX_CHUNKS = 5000;

/** What {@link useNodeLogs} returns. */
interface NodeLogState {
  chunks: LogChunk[];
  /** How the attempt ended, once it has. */
  ended: string | undefined;
  error: string | undefined;
}

/** Follows the log of a node's attempt (latest by default) from the server's event stream. */
function useNodeLogs(executionId: string, nodeId: string, attempt: number | undefined, generation: number) {
  const [state, setState] = useState<NodeLogState>({ chunks: [], ended: undefined, error: undefined });
  // biome-ignore lint/correctness/useExhaustiveDependencies: `generation` restarts the stream on demand.
  useEffect(() => {
    setState({ chunks: [], ended: undefined, error: undefined });
    return followNodeLogs(executionId, nodeId, attempt, {
      log: (chunk) =>
        setState((current) => ({ ...current, chunks: [...current.chunks, chunk].slice(-MAX_CHUNKS) })),
      end: (ended) => setState((current) => ({ ...current, ended })),
      error: (error) => setState((current) => ({ ...current, error })),
    });
  }, [executionId, nodeId, attempt, generation]);
  return state;
}

/** Props of {@link NodeLogs}. */
export interface NodeLogsProps {
  executionId: string;
  nodeId: string;
  /** The node's latest attempt (0 before the first). */
  attempts: number;
}

/**
 * A node's log, streaming while its attempt runs: stdout and stderr lines marked by stream, an
 * attempt picker when it ran more than once, and a link to the plain-text log.
 */
export function NodeLogs({ executionId, nodeId, attempts }: NodeLogsProps) {
  const [attempt, setAttempt] = useState<number>();
  const [generation, setGeneration] = useState(0);
  const logs = useNodeLogs(executionId, nodeId, attempt, generation);
  const lines = useMemo(() => splitLines(logs.chunks), [logs.chunks]);
  const box = useRef<HTMLPreElement>(null);
  const atBottom = useRef(true);
  // biome-ignore lint/correctness/useExhaustiveDependencies: scroll after each new chunk.
  useEffect(() => {
    const element = box.current;
    if (element && atBottom.current) element.scrollTop = element.scrollHeight;
  }, [logs.chunks]);
  const textUrl = `/api/2.0/keel/executions/${encodeURIComponent(executionId)}/nodes/${encodeURIComponent(nodeId)}/logs${attempt ? `?attempt=${attempt}` : ''}`;

  return (
    <section className="node-logs" aria-label={`Logs of ${nodeId}`}>
      <div className="node-logs-bar">
        <h3>Logs</h3>
        {attempts > 1 && (
          <label className="inline-field">
            <span>Attempt</span>
            <select
              className="input small-input"
              value={attempt ?? ''}
              onChange={(event) =>
                setAttempt(event.target.value === '' ? undefined : Number(event.target.value))
              }
            >
              <option value="">latest ({attempts})</option>
              {Array.from({ length: attempts }, (_, i) => i + 1).map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
          </label>
        )}
        <span className="muted small log-status" role="status">
          {logs.error
            ? logs.error
            : logs.ended
              ? `attempt ${logs.ended}`
              : logs.chunks.length > 0
                ? 'streaming…'
                : 'waiting for output…'}
        </span>
        {logs.error && (
          <button type="button" className="button small" onClick={() => setGeneration((g) => g + 1)}>
            Reconnect
          </button>
        )}
        <a className="small" href={textUrl} target="_blank" rel="noreferrer">
          Plain text
        </a>
      </div>
      <pre
        ref={box}
        className="log-view"
        role="log"
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard to scroll it.
        tabIndex={0}
        aria-label={`Log output of ${nodeId}`}
        onScroll={(event) => {
          const element = event.currentTarget;
          atBottom.current = element.scrollHeight - element.scrollTop - element.clientHeight < 24;
        }}
      >
        {lines.length === 0 ? (
          <span className="muted">{logs.ended ? 'No output.' : ''}</span>
        ) : (
          lines.map((line, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: lines only ever append; the index is their identity.
            <span key={i} className={`log-line log-${line.stream}`} data-stream={line.stream}>
              <span className="log-tag" title={line.stream}>
                {line.stream === 'stderr' ? 'err' : 'out'}
              </span>
              {line.text}
            </span>
          ))
        )}
      </pre>
    </section>
  );
}

/** Chunks (runs of lines of one stream) as single lines, each with its stream; newlines dropped. */
export function splitLines(chunks: readonly LogChunk[]): LogChunk[] {
  const lines: LogChunk[] = [];
  let open: LogChunk | undefined;
  for (const chunk of chunks) {
    const parts = chunk.text.split('\n');
    parts.forEach((part, i) => {
      const last = i === parts.length - 1;
      if (last && part === '') {
        open = undefined;
        return;
      }
      if (i === 0 && open !== undefined && open.stream === chunk.stream) open.text += part;
      else {
        open = { stream: chunk.stream, text: part };
        lines.push(open);
      }
      if (!last) open = undefined;
    });
  }
  return lines;
}
