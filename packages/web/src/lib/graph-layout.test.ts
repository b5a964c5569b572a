import { describe, expect, it } from 'vitest';
import { layoutGraph } from './graph-layout';

describe('layoutGraph', () => {
  const nodes = ['a', 'b', 'c', 'd'].map((id) => ({ id, width: 200, height: 60 }));
  const edges = [
    { id: 'a-b', source: 'a', target: 'b' },
    { id: 'a-c', source: 'a', target: 'c' },
    { id: 'b-d', source: 'b', target: 'd' },
    { id: 'c-d', source: 'c', target: 'd' },
    { id: 'x-d', source: 'x', target: 'd' }, // Names no node: ignored.
  ];

  it('places layers left to right, parallel nodes apart', async () => {
    const at = await layoutGraph(nodes, edges, 'RIGHT');
    expect([...at.keys()].sort()).toEqual(['a', 'b', 'c', 'd']);
    const x = (id: string) => at.get(id)?.x ?? Number.NaN;
    expect(x('a')).toBeLessThan(x('b'));
    expect(x('b')).toBe(x('c'));
    expect(x('c')).toBeLessThan(x('d'));
    expect(x('b') - x('a')).toBeGreaterThanOrEqual(200);
    expect(Math.abs((at.get('b')?.y ?? 0) - (at.get('c')?.y ?? 0))).toBeGreaterThanOrEqual(60);
  });

  it('places layers top to bottom', async () => {
    const at = await layoutGraph(nodes, edges, 'DOWN');
    expect(at.get('a')?.y).toBeLessThan(at.get('d')?.y ?? 0);
  });
});
