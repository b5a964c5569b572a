import { describe, expect, it } from 'vitest';
import { splitLines } from './node-logs';

describe('splitLines', () => {
  it('splits chunks into lines, joining a line continued by the next chunk of the same stream', () => {
    expect(
      splitLines([
        { stream: 'stdout', text: 'one\ntwo\nthr' },
        { stream: 'stdout', text: 'ee\n' },
        { stream: 'stderr', text: 'oops\n' },
        { stream: 'stdout', text: 'no newline' },
        { stream: 'stderr', text: 'after' },
      ]),
    ).toEqual([
      { stream: 'stdout', text: 'one' },
      { stream: 'stdout', text: 'two' },
      { stream: 'stdout', text: 'three' },
      { stream: 'stderr', text: 'oops' },
      { stream: 'stdout', text: 'no newline' },
      { stream: 'stderr', text: 'after' },
    ]);
    expect(splitLines([{ stream: 'stdout', text: '\n' }])).toEqual([{ stream: 'stdout', text: '' }]);
  });
});
