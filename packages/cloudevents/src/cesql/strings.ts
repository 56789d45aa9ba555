// Strings in CESQL are sequences of Unicode characters (§3.1): lengths and positions count code
// points, so a character outside the BMP (a UTF-16 surrogate pair) counts once.

export function codePointLength(text: string): number {
  let count = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        count--;
        i++;
      }
    }
  }
  return count;
}

/** UTF-16 offset just after the first `count` code points of `text` (its length if it has fewer). */
export function codePointOffset(text: string, count: number): number {
  let offset = 0;
  for (let seen = 0; seen < count && offset < text.length; seen++) {
    const code = text.charCodeAt(offset);
    if (code >= 0xd800 && code <= 0xdbff) {
      const low = text.charCodeAt(offset + 1);
      offset += low >= 0xdc00 && low <= 0xdfff ? 2 : 1;
    } else {
      offset++;
    }
  }
  return offset;
}

/** Code points `start` (inclusive) to `end` (exclusive), counted from 0. */
export function sliceCodePoints(text: string, start: number, end: number): string {
  const from = codePointOffset(text, start);
  return text.slice(from, from + codePointOffset(text.slice(from), end - start));
}

/** Unicode White_Space (not JavaScript's trim set, which adds U+FEFF and lacks U+0085). */
export function isUnicodeWhiteSpace(code: number): boolean {
  return (
    (code >= 0x09 && code <= 0x0d) ||
    code === 0x20 ||
    code === 0x85 ||
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000
  );
}

export function trimUnicodeWhiteSpace(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isUnicodeWhiteSpace(text.charCodeAt(start))) start++;
  while (end > start && isUnicodeWhiteSpace(text.charCodeAt(end - 1))) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

/**
 * The engine's canonical copy of `text`. A property key is stored internalized, so literals that
 * pass through here compare by pointer with equal internalized strings (V8), a cheap speed-up for
 * the string comparisons every filter makes. The value is unchanged.
 */
export function intern(text: string): string {
  const holder: Record<string, true> = { [text]: true };
  return Object.keys(holder)[0] ?? text;
}
