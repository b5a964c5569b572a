import { describe, expect, it } from 'vitest';
import { MarkedOutput } from './task-worker.js';
import { attemptMarker } from './worker-source.js';

function parse(chunks: string[]): (string | [string, number])[] {
  const seen: (string | [string, number])[] = [];
  const output = new MarkedOutput(
    (text) => seen.push(text),
    (kind, seq) => seen.push([kind, seq]),
  );
  for (const chunk of chunks) output.push(chunk);
  return seen;
}

describe('MarkedOutput', () => {
  it('separates text from attempt markers', () => {
    const stream = `${attemptMarker('begin', 4)}hello\nworld${attemptMarker('end', 4)}`;

    expect(parse([stream])).toEqual([['begin', 4], 'hello\nworld', ['end', 4]]);
  });

  it('finds a marker cut between chunks, wherever the cut is', () => {
    const stream = `ab${attemptMarker('end', 12)}`;
    for (let cut = 1; cut < stream.length; cut++) {
      const seen = parse([stream.slice(0, cut), stream.slice(cut)]);
      expect(seen.filter((item) => typeof item === 'string').join('')).toBe('ab');
      expect(seen.at(-1)).toEqual(['end', 12]);
    }
  });

  it('passes record separators that are not markers through as text', () => {
    expect(parse(['a\u001eb', 'c\u001e']).join('')).toBe('a\u001ebc');
    expect(parse(['\u001ekeel-attempt-nope\u001e', 'x']).join('')).toBe('\u001ekeel-attempt-nope\u001ex');
  });
});
