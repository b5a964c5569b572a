import { useMemo, useState } from 'react';
import { TextView } from './text-view';

/** Items of an array or keys of an object shown before a "show more" button. */
const CHILDREN_PAGE = 100;
/** Levels open when the preview first shows. */
const OPEN_DEPTH = 2;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * A JSON file as a collapsible tree (objects and arrays fold; the first two levels start open),
 * or as pretty-printed text. Text that is not JSON is shown as it is, with the parser's message.
 */
export function JsonPreview({ text }: { text: string }) {
  const parsed = useMemo(() => parseJson(text), [text]);
  const [mode, setMode] = useState<'tree' | 'text'>('tree');
  if (!parsed.ok) {
    return (
      <>
        <p className="preview-note run-error small">Not valid JSON ({parsed.message}); shown as text.</p>
        <TextView text={text} />
      </>
    );
  }
  return (
    <>
      <fieldset className="view-switch">
        <legend className="visually-hidden">Show the JSON as</legend>
        <label className={mode === 'tree' ? 'checked' : undefined}>
          <input type="radio" name="json-mode" checked={mode === 'tree'} onChange={() => setMode('tree')} />
          Tree
        </label>
        <label className={mode === 'text' ? 'checked' : undefined}>
          <input type="radio" name="json-mode" checked={mode === 'text'} onChange={() => setMode('text')} />
          Text
        </label>
      </fieldset>
      {mode === 'tree' ? (
        <div className="json-tree mono">
          <JsonNode label={undefined} value={parsed.value} depth={0} />
        </div>
      ) : (
        <TextView text={JSON.stringify(parsed.value, null, 2)} />
      )}
    </>
  );
}

function parseJson(text: string): { ok: true; value: Json } | { ok: false; message: string } {
  try {
    return { ok: true, value: JSON.parse(text) as Json };
  } catch (error) {
    return { ok: false, message: (error as Error).message };
  }
}

function JsonNode({ label, value, depth }: { label: string | undefined; value: Json; depth: number }) {
  const [open, setOpen] = useState(depth < OPEN_DEPTH);
  const [shown, setShown] = useState(CHILDREN_PAGE);
  const key =
    label === undefined ? null : (
      <>
        <span className="json-key">{label}</span>
        <span className="json-punct">: </span>
      </>
    );
  if (value === null || typeof value !== 'object') {
    return (
      <div className="json-row" style={{ paddingLeft: `${depth * 16 + 16}px` }}>
        {key}
        <JsonScalar value={value} />
      </div>
    );
  }
  const isArray = Array.isArray(value);
  const entries: [string, Json][] = isArray
    ? value.map((item, i) => [String(i), item])
    : Object.entries(value);
  const [opening, closing] = isArray ? ['[', ']'] : ['{', '}'];
  const count = `${entries.length} ${isArray ? (entries.length === 1 ? 'item' : 'items') : entries.length === 1 ? 'key' : 'keys'}`;
  return (
    <div>
      <button
        type="button"
        className="json-row json-toggle"
        style={{ paddingLeft: `${depth * 16}px` }}
        onClick={() => setOpen(!open)}
        aria-expanded={open}
        aria-label={`${open ? 'Collapse' : 'Expand'} ${label ?? 'document'} (${count})`}
      >
        <span className="json-caret" data-open={open} aria-hidden="true">
          ▸
        </span>
        {key}
        <span className="json-punct">{opening}</span>
        {!open && (
          <>
            <span className="json-summary"> {count} </span>
            <span className="json-punct">{closing}</span>
          </>
        )}
      </button>
      {open && (
        <div>
          {entries.slice(0, shown).map(([childKey, child]) => (
            <JsonNode key={childKey} label={isArray ? undefined : childKey} value={child} depth={depth + 1} />
          ))}
          {entries.length > shown && (
            <button
              type="button"
              className="button inline small json-more"
              style={{ marginLeft: `${(depth + 1) * 16 + 16}px` }}
              onClick={() => setShown(shown + CHILDREN_PAGE * 10)}
            >
              Show {Math.min(entries.length - shown, CHILDREN_PAGE * 10)} more of {entries.length - shown}
            </button>
          )}
          <div className="json-row json-punct" style={{ paddingLeft: `${depth * 16 + 16}px` }}>
            {closing}
          </div>
        </div>
      )}
    </div>
  );
}

function JsonScalar({ value }: { value: null | boolean | number | string }) {
  if (value === null) return <span className="json-null">null</span>;
  if (typeof value === 'string') return <span className="json-string">{JSON.stringify(value)}</span>;
  if (typeof value === 'number') return <span className="json-number">{String(value)}</span>;
  return <span className="json-boolean">{String(value)}</span>;
}
