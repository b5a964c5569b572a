/** One event of a `text/event-stream`. */
export interface ServerSentEvent {
  /** The `event:` field. @default 'message' */
  event: string;
  /** The `data:` lines, joined with `\n`. */
  data: string;
  /** The `id:` field, when the event has one. */
  id?: string;
}

/**
 * Parses a `text/event-stream` (the WHATWG "server-sent events" format) from text chunks cut
 * anywhere: lines end in `\n`, `\r\n` or `\r`; a blank line dispatches the event; `:` lines are
 * comments (keep-alives); one space after a field's colon is dropped; events without data are
 * skipped. A last event not followed by a blank line is dropped, as browsers do.
 *
 * @example
 * for await (const e of parseServerSentEvents(['event: log\ndata: {"text":"hi"}\n\n'])) console.log(e.event, e.data);
 */
export async function* parseServerSentEvents(
  chunks: AsyncIterable<string> | Iterable<string>,
): AsyncGenerator<ServerSentEvent> {
  const reader = new EventReader();
  let buffer = '';
  for await (const chunk of chunks) {
    buffer += chunk;
    for (let line = nextLine(buffer); line !== undefined; line = nextLine(buffer)) {
      buffer = buffer.slice(line.consumed);
      const event = reader.line(line.text);
      if (event) yield event;
    }
  }
  // The stream ended: a lone `\r` left over was a whole line terminator after all.
  if (buffer.endsWith('\r')) {
    const event = reader.line(buffer.slice(0, -1));
    if (event) yield event;
  }
}

/** The fields of the event being read, line by line. */
class EventReader {
  private event = '';
  private data: string[] = [];
  private id: string | undefined;

  /** Takes one line; returns the event a blank line completes. */
  line(text: string): ServerSentEvent | undefined {
    if (text === '') return this.dispatch();
    const [field, value] = splitField(text);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.id = value;
    return undefined;
  }

  private dispatch(): ServerSentEvent | undefined {
    const event =
      this.data.length === 0
        ? undefined
        : {
            event: this.event === '' ? 'message' : this.event,
            data: this.data.join('\n'),
            ...(this.id === undefined ? {} : { id: this.id }),
          };
    this.event = '';
    this.data = [];
    return event;
  }
}

/** The first complete line of `buffer` and how many characters it takes with its terminator. */
function nextLine(buffer: string): { text: string; consumed: number } | undefined {
  const match = /\r\n|\r|\n/.exec(buffer);
  if (match === null) return undefined;
  // A `\r` at the end may be the first half of a `\r\n` still on its way.
  if (match[0] === '\r' && match.index === buffer.length - 1) return undefined;
  return { text: buffer.slice(0, match.index), consumed: match.index + match[0].length };
}

/** `field: value` → `['field', 'value']`; a comment line gives an empty field name. */
function splitField(line: string): [string, string] {
  const colon = line.indexOf(':');
  if (colon < 0) return [line, ''];
  const value = line.slice(colon + 1);
  return [line.slice(0, colon), value.startsWith(' ') ? value.slice(1) : value];
}
