/** A compiled LIKE pattern: tells whether a whole string matches. */
export type LikeMatcher = (value: string) => boolean;

/** A run of pattern characters between two `%`: literal text and `_` (exactly one character). */
type Segment = readonly (string | typeof ONE)[];
const ONE = Symbol("one character");

/**
 * Compiles a LIKE pattern (§3.4.3) once. `%` matches any run of characters, `_` exactly one
 * (a Unicode code point), `\%` and `\_` match themselves, and a backslash before anything else is
 * a literal backslash. Matching uses no regular expression: it scans segment by segment, taking the
 * leftmost match of each, which is O(length × pattern) at worst and cannot blow up on hostile input.
 */
export function compileLike(pattern: string): LikeMatcher {
  const segments = splitPattern(pattern);
  const first = segments[0] as Segment;
  if (segments.length === 1) {
    // No `%`: the single segment must cover the whole value.
    const literal = asLiteral(first);
    if (literal !== undefined) return (value) => value === literal;
    return (value) => matchAt(value, 0, first) === value.length;
  }
  const last = segments[segments.length - 1] as Segment;
  const middle = segments.slice(1, -1).filter((segment) => segment.length > 0);
  const prefix = asLiteral(first);
  const suffix = asLiteral(last);
  if (middle.length === 0 && prefix !== undefined && suffix !== undefined) {
    // The shapes subscriptions use most: "abc%", "%abc", "%", "ab%yz".
    if (suffix === "") return prefix === "" ? () => true : (value) => value.startsWith(prefix);
    if (prefix === "") return (value) => value.endsWith(suffix);
    const minimum = prefix.length + suffix.length;
    return (value) => value.length >= minimum && value.startsWith(prefix) && value.endsWith(suffix);
  }
  if (middle.length === 1 && prefix === "" && suffix === "") {
    const inner = asLiteral(middle[0] as Segment);
    if (inner !== undefined) return (value) => value.includes(inner);
  }
  return (value) => matchSegments(value, first, middle, last);
}

function matchSegments(value: string, first: Segment, middle: readonly Segment[], last: Segment): boolean {
  let position = matchAt(value, 0, first);
  if (position < 0) return false;
  for (const segment of middle) {
    position = findFrom(value, position, segment);
    if (position < 0) return false;
  }
  // The last segment must end exactly at the end of the value; try each start from `position`.
  for (let start = position; start <= value.length; start = nextCodePoint(value, start)) {
    if (matchAt(value, start, last) === value.length) return true;
  }
  return false;
}

/** Earliest end of a match of `segment` starting at or after `from`, or -1. */
function findFrom(value: string, from: number, segment: Segment): number {
  for (let start = from; start <= value.length; start = nextCodePoint(value, start)) {
    const end = matchAt(value, start, segment);
    if (end >= 0) return end;
  }
  return -1;
}

/** End offset of `segment` matched at exactly `start`, or -1. */
function matchAt(value: string, start: number, segment: Segment): number {
  let position = start;
  for (const part of segment) {
    if (part === ONE) {
      if (position >= value.length) return -1;
      position = nextCodePoint(value, position);
    } else {
      if (!value.startsWith(part, position)) return -1;
      position += part.length;
    }
  }
  return position;
}

/** Offset after the code point at `index` (one past the end when already at the end). */
function nextCodePoint(value: string, index: number): number {
  const code = value.charCodeAt(index);
  if (code >= 0xd800 && code <= 0xdbff) {
    const low = value.charCodeAt(index + 1);
    if (low >= 0xdc00 && low <= 0xdfff) return index + 2;
  }
  return index + 1;
}

function asLiteral(segment: Segment): string | undefined {
  if (segment.length === 0) return "";
  if (segment.length === 1 && typeof segment[0] === "string") return segment[0];
  return undefined;
}

/** Splits at unescaped `%`; within a segment, adjacent literal characters are merged. */
function splitPattern(pattern: string): Segment[] {
  const segments: Segment[] = [];
  let current: (string | typeof ONE)[] = [];
  let text = "";
  const flushText = () => {
    if (text !== "") current.push(text);
    text = "";
  };
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] as string;
    if (char === "\\" && (pattern[i + 1] === "%" || pattern[i + 1] === "_")) {
      text += pattern[i + 1];
      i++;
    } else if (char === "%") {
      flushText();
      segments.push(current);
      current = [];
    } else if (char === "_") {
      flushText();
      current.push(ONE);
    } else {
      text += char;
    }
  }
  flushText();
  segments.push(current);
  return segments;
}
