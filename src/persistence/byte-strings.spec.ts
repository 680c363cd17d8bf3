import fc from 'fast-check';
import { ByteStrings } from './byte-strings';
import { FC_SEED } from '../../test/fc-seed';

describe('ByteStrings', () => {
  it('decodes UTF-8 as Buffer does, one string and one dense key per distinct value', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary', maxLength: 12 }), { maxLength: 300 }), fc.nat({ max: 5 }), (values, pad) => {
        const strings = new ByteStrings();
        const keyOf = new Map<string, number>();
        for (const v of values) {
          const bytes = Buffer.concat([Buffer.alloc(pad), Buffer.from(v, 'utf8')]);
          const got = strings.get(bytes, pad, bytes.length);
          expect(got).toBe(Buffer.from(v, 'utf8').toString('utf8'));
          if (!keyOf.has(got)) keyOf.set(got, keyOf.size);
          expect(strings.key).toBe(keyOf.get(got));
        }
        expect(strings.size).toBe(keyOf.size);
      }),
      { seed: FC_SEED, numRuns: 200 },
    );
  });

  it('returns the very same string for the same bytes, across table growth', () => {
    const strings = new ByteStrings();
    const first = new Map<number, string>();
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 5000; i++) {
        const bytes = Buffer.from(`user-${i}`);
        const s = strings.get(bytes, 0, bytes.length);
        if (round === 0) first.set(i, s);
        else expect(s).toBe(first.get(i));
      }
    }
    expect(strings.size).toBe(5000);
  });

  it('stops keeping values past its bound, and still decodes them (key -1)', () => {
    const strings = new ByteStrings(3);
    const get = (s: string) => strings.get(Buffer.from(s), 0, Buffer.byteLength(s));
    for (const s of ['a', 'b', 'c']) get(s);
    expect(get('d')).toBe('d');
    expect(strings.key).toBe(-1);
    expect(get('b')).toBe('b');
    expect(strings.key).toBe(1);
    const long = 'x'.repeat(300);
    expect(new ByteStrings().get(Buffer.from(long), 0, 300)).toBe(long);
    expect(strings.size).toBe(3);
  });
});
