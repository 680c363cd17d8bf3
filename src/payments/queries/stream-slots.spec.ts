import fc from 'fast-check';
import { StreamSlot, StreamSlots } from './stream-slots';

const taken = (result: StreamSlot | string): StreamSlot => {
  if (typeof result === 'string') throw new Error(`refused: ${result}`);
  return result;
};

describe('StreamSlots', () => {
  it('gives an owner its cap of slots, then refuses it, while other owners still get theirs', () => {
    const slots = new StreamSlots(2, 10);
    taken(slots.take('a'));
    taken(slots.take('a'));

    expect(slots.take('a')).toBe('owner');
    taken(slots.take('b'));
    expect([slots.openBy('a'), slots.openBy('b'), slots.open]).toEqual([2, 1, 3]);
  });

  it('refuses everyone past the total, naming the owner\'s own cap first when both are reached', () => {
    const slots = new StreamSlots(2, 3);
    taken(slots.take('a'));
    taken(slots.take('a'));
    taken(slots.take('b'));

    expect(slots.take('c')).toBe('total');
    expect(slots.take('b')).toBe('total');
    expect(slots.take('a')).toBe('owner');
    expect(slots.open).toBe(3);
  });

  it('frees a slot on release, once however often it is released', () => {
    const slots = new StreamSlots(1, 2);
    const first = taken(slots.take('a'));
    taken(slots.take('b'));
    expect(slots.take('c')).toBe('total');

    first.release();
    first.release();

    expect([slots.open, slots.openBy('a'), slots.openBy('b')]).toEqual([1, 0, 1]);
    taken(slots.take('a'));
    expect(slots.take('a')).toBe('owner');
    expect(slots.take('c')).toBe('total');
  });

  it('matches a plain count per owner after any sequence of takes and releases', () => {
    const step = fc.oneof(
      fc.record({ take: fc.constantFrom('a', 'b', 'c', 'd') }),
      fc.record({ release: fc.nat(30) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 8 }), fc.array(step, { maxLength: 60 }), (perOwner, max, steps) => {
        const slots = new StreamSlots(perOwner, max);
        const held: { owner: string; slot: StreamSlot }[] = [];
        const count = (owner: string) => held.filter((h) => h.owner === owner).length;
        for (const s of steps) {
          if ('take' in s) {
            const expected = count(s.take) >= perOwner ? 'owner' : held.length >= max ? 'total' : 'slot';
            const result = slots.take(s.take);
            expect(typeof result === 'string' ? result : 'slot').toBe(expected);
            if (typeof result !== 'string') held.push({ owner: s.take, slot: result });
          } else if (held.length > 0) {
            const [{ slot }] = held.splice(s.release % held.length, 1);
            slot.release();
            slot.release();
          }
          expect(slots.open).toBe(held.length);
          for (const owner of ['a', 'b', 'c', 'd']) expect(slots.openBy(owner)).toBe(count(owner));
        }
      }),
    );
  });
});
