import { HashIndex } from './hash.index';

describe('HashIndex', () => {
  it('is empty at first', () => {
    const ix = new HashIndex<string>();
    expect(ix.get('EUR')).toBeUndefined();
    expect(ix.count('EUR')).toBe(0);
    expect(ix.distinctValues).toBe(0);
  });

  it('groups row ids under their value', () => {
    const ix = new HashIndex<string>();
    ix.add('EUR', 0);
    ix.add('USD', 1);
    ix.add('EUR', 2);
    expect([...(ix.get('EUR') ?? [])].sort()).toEqual([0, 2]);
    expect([...(ix.get('USD') ?? [])]).toEqual([1]);
    expect(ix.count('EUR')).toBe(2);
    expect(ix.count('USD')).toBe(1);
    expect(ix.distinctValues).toBe(2);
  });

  it('holds a row once however often it is added under the same value', () => {
    const ix = new HashIndex<string>();
    ix.add('EUR', 3);
    ix.add('EUR', 3);
    expect(ix.count('EUR')).toBe(1);
  });

  it('compares values exactly (no case folding)', () => {
    const ix = new HashIndex<string>();
    ix.add('EUR', 0);
    expect(ix.count('eur')).toBe(0);
    expect(ix.get('eur')).toBeUndefined();
  });

  it('removes a row from its value only', () => {
    const ix = new HashIndex<string>();
    ix.add('EUR', 0);
    ix.add('EUR', 1);
    ix.add('USD', 1);
    ix.remove('EUR', 1);
    expect([...(ix.get('EUR') ?? [])]).toEqual([0]);
    expect([...(ix.get('USD') ?? [])]).toEqual([1]);
  });

  it('drops a value when its last row leaves, so no set is ever empty', () => {
    const ix = new HashIndex<string>();
    ix.add('EUR', 0);
    ix.add('USD', 1);
    ix.remove('EUR', 0);
    expect(ix.get('EUR')).toBeUndefined();
    expect(ix.count('EUR')).toBe(0);
    expect(ix.distinctValues).toBe(1);
  });

  it('ignores the removal of a row or value it does not hold', () => {
    const ix = new HashIndex<string>();
    ix.add('EUR', 0);
    ix.remove('EUR', 5);
    ix.remove('GBP', 0);
    expect(ix.count('EUR')).toBe(1);
    expect(ix.distinctValues).toBe(1);
    expect(ix.get('GBP')).toBeUndefined();
  });

  it('moves a row between values as a status change does', () => {
    const ix = new HashIndex<'pending' | 'completed'>();
    ix.add('pending', 7);
    ix.remove('pending', 7);
    ix.add('completed', 7);
    expect(ix.count('pending')).toBe(0);
    expect(ix.count('completed')).toBe(1);
    expect(ix.distinctValues).toBe(1);
  });

  it('forgets everything on clear', () => {
    const ix = new HashIndex<number>();
    for (let i = 0; i < 10; i++) ix.add(i % 3, i);
    expect(ix.distinctValues).toBe(3);
    ix.clear();
    expect(ix.distinctValues).toBe(0);
    expect(ix.count(0)).toBe(0);
  });

  it('keeps counts equal to a reference map through many adds and removes', () => {
    const ix = new HashIndex<number>();
    const ref = new Map<number, Set<number>>();
    let s = 7;
    const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
    for (let i = 0; i < 3000; i++) {
      const key = next() % 13;
      const row = next() % 200;
      if (next() % 3 === 0) {
        ix.remove(key, row);
        ref.get(key)?.delete(row);
        if (ref.get(key)?.size === 0) ref.delete(key);
      } else {
        ix.add(key, row);
        if (!ref.has(key)) ref.set(key, new Set());
        ref.get(key)!.add(row);
      }
    }
    expect(ix.distinctValues).toBe(ref.size);
    for (let key = 0; key < 13; key++) {
      expect(ix.count(key)).toBe(ref.get(key)?.size ?? 0);
      expect(new Set(ix.get(key) ?? [])).toEqual(ref.get(key) ?? new Set());
    }
  });
});
