import { describe, expect, it } from 'vitest';
import { parseServerSentEvents, type ServerSentEvent } from './sse.js';

async function parse(chunks: string[]): Promise<ServerSentEvent[]> {
  const events: ServerSentEvent[] = [];
  for await (const event of parseServerSentEvents(chunks)) events.push(event);
  return events;
}

describe('parseServerSentEvents', () => {
  it('reads events cut anywhere, with every line ending, comments and multi-line data', async () => {
    const text =
      ': hello\r\nevent: log\r\ndata: {"a":1}\r\n\r\nid: 7\rdata:first\rdata:  second\r\revent: end\ndata: {}\n\n';
    const expected = [
      { event: 'log', data: '{"a":1}' },
      { event: 'message', data: 'first\n second', id: '7' },
      { event: 'end', data: '{}', id: '7' },
    ];
    expect(await parse([text])).toEqual(expected);
    // Every cut, including between the `\r` and the `\n` of a line ending.
    for (let cut = 1; cut < text.length; cut++) {
      expect(await parse([text.slice(0, cut), text.slice(cut)])).toEqual(expected);
    }
  });

  it('skips events without data and drops an unterminated last event', async () => {
    expect(await parse(['event: ping\n\n', 'data: x\n\n', 'data: unfinished\n'])).toEqual([
      { event: 'message', data: 'x' },
    ]);
    expect(await parse(['data: y\r\r'])).toEqual([{ event: 'message', data: 'y' }]);
  });
});
