import { KeelError } from '../errors.js';

/** Search text being parsed, and what to call it in error messages. */
export interface SearchText {
  readonly text: string;
  /** `filter` or `order_by clause`. */
  readonly label: string;
}

/** Longer inputs are cut in messages so a 10,000-character filter does not flood logs. */
const MAX_ECHOED_CHARS = 200;

/**
 * A filter or order_by clause that does not parse or does not fit the search schema.
 *
 * Code INVALID_PARAMETER_VALUE (HTTP 400). {@link position} lets a UI validating locally put the
 * cursor on the problem; the message carries the same position for API clients.
 *
 * @example
 * // Invalid filter 'metrics.acc >> 1': unexpected token '>' at position 13 (expected a number or a quoted string)
 */
export class InvalidSearchError extends KeelError {
  override readonly name: string = 'InvalidSearchError';
  /** 0-based UTF-16 offset of the problem in {@link input}. */
  readonly position: number;
  /** The filter or clause text as received. */
  readonly input: string;

  constructor(source: SearchText, problem: string, position: number, hint?: string) {
    const shown =
      source.text.length > MAX_ECHOED_CHARS ? `${source.text.slice(0, MAX_ECHOED_CHARS)}…` : source.text;
    const suffix = hint === undefined ? '' : ` (${hint})`;
    super(
      'INVALID_PARAMETER_VALUE',
      `Invalid ${source.label} '${shown}': ${problem} at position ${position}${suffix}`,
    );
    this.position = position;
    this.input = source.text;
  }
}
