import { TopK } from './top-k';

function lcg(seed: number) {
  return () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

describe('TopK', () => {
  it('keeps exactly the k smallest rows, best first, whatever the order they come in', () => {
    const rnd = lcg(7);
    for (let round = 0; round < 50; round++) {
      const values = Array.from({ length: Math.floor(rnd() * 300) }, () => Math.floor(rnd() * 100));
      const k = Math.floor(rnd() * 40);
      // rows are indexes into values; ties broken by row id so the order is total
      const compare = (a: number, b: number) => values[a] - values[b] || a - b;
      const top = new TopK(k, compare);
      values.forEach((_, row) => top.offer(row));
      const expected = values.map((_, row) => row).sort(compare).slice(0, k);
      expect(top.sorted()).toEqual(expected);
    }
  });

  it('keeps nothing when k is 0', () => {
    const top = new TopK(0, (a, b) => a - b);
    top.offer(1);
    expect(top.sorted()).toEqual([]);
  });
});
