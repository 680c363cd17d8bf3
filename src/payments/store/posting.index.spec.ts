import { PostingIndex } from './posting.index';

describe('PostingIndex', () => {
  it('lists the rows of each value in insertion order, growing past its initial capacity', () => {
    const index = new PostingIndex<string>();
    for (let row = 0; row < 1000; row++) index.add(row % 3 === 0 ? 'a' : 'b', row);
    const a: number[] = [];
    index.forEachRow('a', (row) => a.push(row));
    expect(a).toEqual(Array.from({ length: 334 }, (_, i) => i * 3));
    expect(index.count('a')).toBe(334);
    expect(index.count('b')).toBe(666);
    expect([...(index.get('a') ?? [])]).toEqual(a);
  });

  it('knows nothing of values it never saw', () => {
    const index = new PostingIndex<string>();
    index.add('x', 0);
    const visited: number[] = [];
    index.forEachRow('y', (row) => visited.push(row));
    expect(visited).toEqual([]);
    expect(index.count('y')).toBe(0);
    expect(index.get('y')).toBeUndefined();
    expect(index.distinctValues).toBe(1);
  });
});
