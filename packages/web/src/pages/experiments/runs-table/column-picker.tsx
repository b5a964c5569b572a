import { useEffect, useId, useMemo, useRef, useState } from 'react';
import { columnId, type KeyColumn, type KeyKind } from './runs-view-state';

/** Keys seen in the loaded runs, per kind, sorted. */
export type AvailableKeys = Readonly<Record<KeyKind, readonly string[]>>;

/** Props of {@link ColumnPicker}. */
export interface ColumnPickerProps {
  /** Extra columns shown now. */
  selected: readonly KeyColumn[];
  /** Computes the keys to offer; called when the picker opens (cheap to keep, costly to compute). */
  availableKeys: () => AvailableKeys;
  onChange: (columns: KeyColumn[]) => void;
}

const GROUPS: readonly { kind: KeyKind; label: string }[] = [
  { kind: 'metrics', label: 'Metrics (latest value)' },
  { kind: 'params', label: 'Parameters' },
  { kind: 'tags', label: 'Tags' },
];

/**
 * A "Columns" button opening a panel of checkboxes: every param, metric and tag key of the loaded
 * runs, with a search field. Escape or a click outside closes it.
 */
export function ColumnPicker({ selected, availableKeys, onChange }: ColumnPickerProps) {
  const [open, setOpen] = useState(false);
  const [search, setSearch] = useState('');
  const [keys, setKeys] = useState<AvailableKeys>({ params: [], metrics: [], tags: [] });
  const rootRef = useRef<HTMLDivElement>(null);
  const buttonRef = useRef<HTMLButtonElement>(null);
  const id = useId();

  useEffect(() => {
    if (!open) return;
    const onPointer = (event: PointerEvent) => {
      if (!rootRef.current?.contains(event.target as Node)) setOpen(false);
    };
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape') {
        setOpen(false);
        buttonRef.current?.focus();
      }
    };
    document.addEventListener('pointerdown', onPointer);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('pointerdown', onPointer);
      document.removeEventListener('keydown', onKey);
    };
  }, [open]);

  const chosen = useMemo(() => new Set(selected.map(columnId)), [selected]);
  const toggleOpen = () => {
    if (!open) setKeys(availableKeys());
    setOpen(!open);
  };
  const toggle = (column: KeyColumn) => {
    const id = columnId(column);
    onChange(chosen.has(id) ? selected.filter((c) => columnId(c) !== id) : [...selected, column]);
  };
  const needle = search.trim().toLowerCase();

  return (
    <div className="column-picker" ref={rootRef}>
      <button
        ref={buttonRef}
        type="button"
        className="button"
        aria-expanded={open}
        aria-controls={`${id}-panel`}
        onClick={toggleOpen}
      >
        Columns{selected.length > 0 ? ` (${selected.length})` : ''}
      </button>
      {open && (
        <div
          id={`${id}-panel`}
          className="popover column-picker-panel"
          role="dialog"
          aria-label="Choose columns"
        >
          <input
            className="input"
            type="search"
            placeholder="Find a param, metric or tag"
            aria-label="Find a param, metric or tag"
            value={search}
            onChange={(event) => setSearch(event.target.value)}
            // biome-ignore lint/a11y/noAutofocus: the panel was just opened to type into it.
            autoFocus
          />
          <div className="column-picker-groups">
            {GROUPS.map(({ kind, label }) => {
              const offered = mergeKeys(keys[kind], selected, kind).filter(
                (key) => needle === '' || key.toLowerCase().includes(needle),
              );
              return (
                <fieldset key={kind} className="column-group">
                  <legend>{label}</legend>
                  {offered.length === 0 && <p className="muted small">None in the loaded runs.</p>}
                  {offered.map((key) => (
                    <label key={key} className="check-option">
                      <input
                        type="checkbox"
                        checked={chosen.has(`${kind}.${key}`)}
                        onChange={() => toggle({ kind, key })}
                      />
                      <span className="mono">{key}</span>
                    </label>
                  ))}
                </fieldset>
              );
            })}
          </div>
          {selected.length > 0 && (
            <div className="popover-footer">
              <button type="button" className="button ghost" onClick={() => onChange([])}>
                Remove all extra columns
              </button>
            </div>
          )}
        </div>
      )}
    </div>
  );
}

/** The offered keys plus any selected key of that kind no loaded run has (so it can be unticked). */
function mergeKeys(offered: readonly string[], selected: readonly KeyColumn[], kind: KeyKind): string[] {
  const all = new Set(offered);
  for (const column of selected) if (column.kind === kind) all.add(column.key);
  return [...all].sort(compareKeys);
}

/** User keys before MLflow's system tags (`mlflow.*`), then alphabetical. */
function compareKeys(a: string, b: string): number {
  const systemA = a.startsWith('mlflow.');
  const systemB = b.startsWith('mlflow.');
  if (systemA !== systemB) return systemA ? 1 : -1;
  return a.localeCompare(b);
}
