/**
 * Texts whose parsed value is kept, and their total length: what bounds the memory the memo adds (the
 * texts themselves, and their parsed values, a few times larger).
 */
const MAX_ENTRIES = 5_000;
const MAX_TOTAL_CHARS = 8_000_000;
/** Longer texts (a long list's first rows) are parsed on every read: rarer, and big to keep twice. */
const MAX_TEXT_CHARS = 16_384;

/**
 * Freezes a value and everything in it. Cached values are frozen on every path (a hit, and the miss
 * that loaded them), so code that changed one fails on its first request, not only on warm ones.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/**
 * bentocache's serializer (JSON, as its default), remembering what it parsed. The memory layer hands
 * back the very same text on every hit, and parsing it again (the session, the memberships and the
 * record of every warm request) was a tenth of a warm read's time, with the garbage it made. A value
 * is now parsed once per text and shared by every read of that text, so it is frozen, deeply: code
 * that changed a cached value would throw rather than change what the next reader gets. A changed
 * entry is a new text; old texts leave the memo first in, first out.
 */
export class RememberingJsonSerializer {
  private readonly parsed = new Map<string, unknown>();
  private totalChars = 0;

  serialize(value: unknown): string {
    return JSON.stringify(value);
  }

  deserialize(text: string): unknown {
    const known = this.parsed.get(text);
    if (known !== undefined) return known;
    const value = deepFreeze(JSON.parse(text) as unknown);
    if (text.length <= MAX_TEXT_CHARS) {
      this.parsed.set(text, value);
      this.totalChars += text.length;
      while (this.parsed.size > MAX_ENTRIES || this.totalChars > MAX_TOTAL_CHARS) {
        const oldest = this.parsed.keys().next().value!;
        this.parsed.delete(oldest);
        this.totalChars -= oldest.length;
      }
    }
    return value;
  }
}
