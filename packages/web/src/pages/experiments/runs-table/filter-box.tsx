import { type FormEvent, type KeyboardEvent, useEffect, useId, useRef, useState } from 'react';
import type { AvailableKeys } from './column-picker';
import { applySuggestion, type FilterSuggestions, suggestFilter } from './filter-suggestions';

/** Props of {@link FilterBox}. */
export interface FilterBoxProps {
  /** The filter in force (from the URL). */
  value: string;
  /** Called with the new filter text on Enter / Apply, and with `''` on Clear. */
  onApply: (filter: string) => void;
  /** The server's message when it rejected `value` (INVALID_PARAMETER_VALUE). */
  error: string | undefined;
  /** The param, metric and tag keys to suggest (computed when the box gets focus). */
  availableKeys?: () => AvailableKeys;
}

const NO_KEYS: AvailableKeys = { params: [], metrics: [], tags: [] };

/** Where the server's message says the problem is: `… at position 13 …`. */
const POSITION = /\bat position (\d+)\b/;

/**
 * The search box of the runs table. It takes MLflow's filter grammar as is — the server parses it —
 * and applies it on Enter. A filter the server rejects shows the server's message right under the
 * box, with the problem position marked in the text.
 */
export function FilterBox({ value, onApply, error, availableKeys }: FilterBoxProps) {
  const [draft, setDraft] = useState(value);
  const id = useId();
  useEffect(() => setDraft(value), [value]);
  const completion = useCompletion(availableKeys);
  const inputRef = useRef<HTMLInputElement>(null);
  const listId = `${id}-suggestions`;
  const open = completion.suggestions !== undefined && completion.suggestions.items.length > 0;
  useEffect(() => {
    if (open) document.getElementById(`${listId}-${completion.active}`)?.scrollIntoView({ block: 'nearest' });
  }, [open, listId, completion.active]);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    completion.close();
    onApply(draft.trim());
  };
  const edit = (text: string, caret: number) => {
    setDraft(text);
    completion.update(text, caret);
  };
  const accept = (index: number) => {
    const range = completion.suggestions;
    const item = range?.items[index];
    if (range === undefined || item === undefined) return;
    const next = applySuggestion(draft, range, item);
    edit(next.text, next.caret);
    requestAnimationFrame(() => inputRef.current?.setSelectionRange(next.caret, next.caret));
  };
  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    const input = event.currentTarget;
    if (event.key === 'ArrowDown' && !open) {
      completion.update(draft, input.selectionStart ?? draft.length);
      event.preventDefault();
      return;
    }
    if (!open) return;
    const count = completion.suggestions?.items.length ?? 0;
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      completion.setActive((completion.active + (event.key === 'ArrowDown' ? 1 : count - 1)) % count);
    } else if (event.key === 'Enter' || event.key === 'Tab') {
      event.preventDefault();
      accept(completion.active);
    } else if (event.key === 'Escape') {
      event.preventDefault();
      completion.close();
    }
  };
  const position = error === undefined ? undefined : Number(POSITION.exec(error)?.[1] ?? Number.NaN);
  return (
    <search className="filter-box" aria-label="Filter runs">
      <form onSubmit={submit}>
        <div className="filter-row">
          <label htmlFor={`${id}-input`} className="visually-hidden">
            Filter runs (MLflow search syntax)
          </label>
          <div className="filter-combobox">
            <input
              ref={inputRef}
              id={`${id}-input`}
              className="input mono filter-input"
              type="search"
              role="combobox"
              aria-autocomplete="list"
              aria-expanded={open}
              aria-controls={listId}
              aria-activedescendant={open ? `${listId}-${completion.active}` : undefined}
              value={draft}
              onChange={(event) =>
                edit(event.target.value, event.target.selectionStart ?? event.target.value.length)
              }
              onKeyDown={onKeyDown}
              onFocus={completion.refreshKeys}
              onBlur={completion.close}
              placeholder="metrics.acc > 0.9 AND params.optimizer = 'adam'"
              spellCheck={false}
              autoComplete="off"
              aria-invalid={error !== undefined}
              aria-describedby={error === undefined ? `${id}-help` : `${id}-error`}
            />
            <div
              id={listId}
              className="filter-suggestions popover"
              role="listbox"
              aria-label="Filter suggestions"
              hidden={!open}
            >
              {open &&
                completion.suggestions?.items.map((item, index) => (
                  <div
                    key={item.label}
                    id={`${listId}-${index}`}
                    role="option"
                    aria-selected={index === completion.active}
                    tabIndex={-1}
                    className="filter-suggestion"
                    // Keep the focus in the input: accept on mouse down, before the blur.
                    onMouseDown={(event) => {
                      event.preventDefault();
                      accept(index);
                    }}
                  >
                    <span className="mono">{item.label}</span>
                    <span className="filter-suggestion-detail">{item.detail}</span>
                  </div>
                ))}
            </div>
          </div>
          <button type="submit" className="button">
            Apply
          </button>
          {value !== '' && (
            <button type="button" className="button ghost" onClick={() => onApply('')}>
              Clear
            </button>
          )}
        </div>
        {error === undefined ? (
          <p id={`${id}-help`} className="filter-help muted">
            Filter with <code>metrics.*</code>, <code>params.*</code>, <code>tags.*</code> and attributes such
            as <code>status</code> or <code>run_name</code>; combine with <code>AND</code> / <code>OR</code>.
            Press Enter to apply.
          </p>
        ) : (
          <div id={`${id}-error`} className="filter-error" role="alert">
            <p>{error}</p>
            {position !== undefined && Number.isInteger(position) && position <= value.length && (
              <pre className="filter-caret" aria-hidden="true">
                {value.slice(0, position)}
                <mark>{value.slice(position, position + 1) || ' '}</mark>
                {value.slice(position + 1)}
              </pre>
            )}
          </div>
        )}
      </form>
    </search>
  );
}

/** The suggestion list's state: what is offered for the last edit, and the highlighted entry. */
function useCompletion(availableKeys: (() => AvailableKeys) | undefined) {
  const [suggestions, setSuggestions] = useState<FilterSuggestions | undefined>(undefined);
  const [active, setActive] = useState(0);
  const keys = useRef<AvailableKeys>(NO_KEYS);
  return {
    suggestions,
    active,
    setActive,
    /** Reads the loaded runs' keys again (on focus: the runs may have changed since). */
    refreshKeys: () => {
      keys.current = availableKeys?.() ?? NO_KEYS;
    },
    update: (text: string, caret: number) => {
      setSuggestions(suggestFilter(text, caret, keys.current));
      setActive(0);
    },
    close: () => setSuggestions(undefined),
  };
}
