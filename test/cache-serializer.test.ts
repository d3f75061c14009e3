import { describe, expect, it } from 'vitest';
import { RememberingJsonSerializer } from '../src/platform/cache-serializer.js';

describe("the cache's serializer", () => {
  it('parses a text once and shares the value, frozen all the way down', () => {
    const serializer = new RememberingJsonSerializer();
    const text = serializer.serialize({ value: { name: 'Ada', allergies: [{ code: 'peanut' }] }, createdAt: 1 });
    const first = serializer.deserialize(text) as { value: { name: string; allergies: { code: string }[] } };
    expect(serializer.deserialize(text)).toBe(first);
    expect(serializer.deserialize(`${text}`.slice(0))).toBe(first); // the same content, another string
    expect(() => {
      first.value.name = 'changed';
    }).toThrow(TypeError);
    expect(() => first.value.allergies.push({ code: 'x' })).toThrow(TypeError);
    expect(() => {
      first.value.allergies[0]!.code = 'changed';
    }).toThrow(TypeError);
    expect(first.value.allergies[0]!.code).toBe('peanut');
  });

  it('gives a changed entry its new value', () => {
    const serializer = new RememberingJsonSerializer();
    const before = serializer.deserialize(serializer.serialize({ value: 1, logicalExpiration: 10 }));
    const after = serializer.deserialize(serializer.serialize({ value: 2, logicalExpiration: 20 }));
    expect(before).toEqual({ value: 1, logicalExpiration: 10 });
    expect(after).toEqual({ value: 2, logicalExpiration: 20 });
  });

  it('keeps a bounded number of texts, and none of the long ones', () => {
    const serializer = new RememberingJsonSerializer();
    const texts = Array.from({ length: 6_000 }, (_, i) => serializer.serialize({ value: i }));
    const values = texts.map((text) => serializer.deserialize(text));
    // The first ones were let go (parsed again: an equal value, another object); the last are kept.
    expect(serializer.deserialize(texts[0]!)).not.toBe(values[0]);
    expect(serializer.deserialize(texts[0]!)).toEqual(values[0]);
    expect(serializer.deserialize(texts[5_999]!)).toBe(values[5_999]);

    const long = serializer.serialize({ value: 'x'.repeat(20_000) });
    expect(serializer.deserialize(long)).not.toBe(serializer.deserialize(long));
  });

  it('passes strings, numbers and null through as JSON does', () => {
    const serializer = new RememberingJsonSerializer();
    for (const value of ['{"a":1}', 42, null, true]) {
      expect(serializer.deserialize(serializer.serialize(value))).toEqual(value);
    }
  });
});
