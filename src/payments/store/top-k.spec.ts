import { TopK } from './top-k';

function lcg(seed: number) {
  return () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

describe('TopK', () => {
  it('keeps exactly the first k rows by (key, tie), ascending or descending, whatever the arrival order', () => {
    const rnd = lcg(7);
    for (let round = 0; round < 100; round++) {
      const keys = Array.from({ length: Math.floor(rnd() * 300) }, () => Math.floor(rnd() * 50));
      const k = Math.floor(rnd() * 40);
      const descending = rnd() < 0.5;
      // ties broken by row id descending, to show `tie` is used rather than row order
      const tie = (a: number, b: number) => b - a;
      const top = new TopK(k, descending, tie);
      keys.forEach((key, row) => top.offer(key, row));
      const expected = keys
        .map((_, row) => row)
        .sort((a, b) => (keys[a] !== keys[b] ? (descending ? keys[b] - keys[a] : keys[a] - keys[b]) : tie(a, b)))
        .slice(0, k);
      expect(top.sorted()).toEqual(expected);
    }
  });

  it('bounds the keys that can still enter: any until k are kept, then the worst kept', () => {
    const desc = new TopK(2, true, (a, b) => a - b);
    expect(desc.bound).toBe(-Infinity);
    desc.offer(5, 1);
    expect(desc.bound).toBe(-Infinity);
    desc.offer(9, 2);
    expect(desc.bound).toBe(5);
    desc.offer(7, 3);
    expect(desc.bound).toBe(7);
    const asc = new TopK(1, false, (a, b) => a - b);
    expect(asc.bound).toBe(Infinity);
    asc.offer(4, 1);
    expect(asc.bound).toBe(4);
  });

  it('keeps nothing when k is 0', () => {
    const top = new TopK(0, false, (a, b) => a - b);
    top.offer(1, 1);
    expect(top.sorted()).toEqual([]);
  });
});
