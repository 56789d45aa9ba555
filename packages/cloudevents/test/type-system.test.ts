// The hand-written fast checks agree with plain regex reference implementations of the same grammar.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isAbsoluteUri, isTimestamp, isTraceparent, isUriReference } from "@herald/cloudevents";
import fc from "fast-check";
import { schemaErrors } from "./helpers/schema.js";

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

function referenceTimestamp(value: string): boolean {
  const m = RFC3339.exec(value);
  if (m === null) return false;
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as number[];
  const leap = y! % 4 === 0 && (y! % 100 !== 0 || y! % 400 === 0);
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo! - 1];
  if (days === undefined || d! < 1 || d! > days || h! > 23 || mi! > 59 || s! > 60) return false;
  if (m[7] !== undefined && (Number(m[7]) > 23 || Number(m[8]) > 59)) return false;
  if (s !== 60) return true;
  // Leap second: the instant must be 23:59 UTC; Date does the offset arithmetic for the reference.
  const utc = new Date(`2000-01-01T${m[4]}:${m[5]}:00${value.slice(value.search(/[Zz+-]\d*:?\d*$/))}`);
  return utc.getUTCHours() === 23 && utc.getUTCMinutes() === 59;
}

function referenceTraceparent(value: string): boolean {
  const m = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/.exec(value);
  if (m === null || m[1] === "ff" || (m[1] === "00" && m[5] !== undefined)) return false;
  return !/^0+$/.test(m[2]!) && !/^0+$/.test(m[3]!);
}

// Strings built from the grammar's own pieces, so most cases are near-valid rather than random noise.
const pad = (n: number, width: number) => String(n).padStart(width, "0");
const timestampLike = fc
  .tuple(
    fc.integer({ min: 0, max: 9999 }),
    fc.integer({ min: 0, max: 13 }),
    fc.integer({ min: 0, max: 32 }),
    fc.constantFrom("T", "t", " ", "X"),
    fc.integer({ min: 0, max: 24 }),
    fc.integer({ min: 0, max: 60 }),
    fc.integer({ min: 0, max: 61 }),
    fc.constantFrom("", ".", ".5", ".123456789", ".x"),
    fc.constantFrom("Z", "z", "+01:00", "-23:59", "+24:00", "+0100", "", "Z ", "+01:60"),
  )
  .map(
    ([y, mo, d, t, h, mi, s, frac, zone]) =>
      `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}${t}${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}${frac}${zone}`,
  );

const hexDigit = fc.constantFrom(..."0123456789abcdef".split(""));
const hex = (n: number) => fc.array(hexDigit, { minLength: n, maxLength: n }).map((a) => a.join(""));
const mostly = <T>(good: fc.Arbitrary<T>, ...bad: fc.Arbitrary<T>[]) =>
  fc.oneof({ arbitrary: good, weight: 6 }, ...bad.map((arbitrary) => ({ arbitrary, weight: 1 })));
const traceparentLike = fc
  .tuple(
    mostly(fc.constantFrom("00", "01", "cc"), fc.constantFrom("ff", "0g", "0A")),
    mostly(
      hex(32),
      fc.constant("0".repeat(32)),
      hex(31),
      hex(32).map((h) => h.toUpperCase()),
    ),
    mostly(hex(16), fc.constant("0".repeat(16))),
    mostly(hex(2), fc.constant("x1")),
    mostly(fc.constant(""), fc.constantFrom("-", "-abc", "x")),
  )
  .map(([v, t, p, f, rest]) => `${v}-${t}-${p}-${f}${rest}`);

describe("type system checks", () => {
  it("the generators reach both outcomes", () => {
    const ts = fc.sample(timestampLike, 1000).filter(isTimestamp).length;
    const tp = fc.sample(traceparentLike, 1000).filter(isTraceparent).length;
    assert.ok(ts > 50 && ts < 950, `valid timestamps: ${ts}/1000`);
    assert.ok(tp > 50 && tp < 950, `valid traceparents: ${tp}/1000`);
  });

  it("isTimestamp agrees with the RFC 3339 regex reference", () => {
    fc.assert(
      fc.property(fc.oneof(timestampLike, fc.string()), (v) => {
        assert.equal(isTimestamp(v), referenceTimestamp(v), v);
      }),
      { numRuns: 2000 },
    );
  });

  it("isTraceparent agrees with the W3C regex reference", () => {
    fc.assert(
      fc.property(fc.oneof(traceparentLike, fc.string()), (v) => {
        assert.equal(isTraceparent(v), referenceTraceparent(v), v);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("Herald's checks never accept what the spec's JSON schema rejects", () => {
  const uriChar = fc.constantFrom(..."abcXYZ019-._~:/?#[]@!$&'()*+,;=% é^{".split(""));
  const uriLike = fc.array(uriChar, { maxLength: 24 }).map((a) => a.join(""));
  const base = { specversion: "1.0", id: "1", source: "/s", type: "t" };

  it("source (URI-reference), dataschema (URI), time (date-time)", () => {
    fc.assert(
      fc.property(fc.oneof(uriLike, timestampLike, fc.string()), (v) => {
        if (isUriReference(v) && v !== "") assert.equal(schemaErrors({ ...base, source: v }), undefined, v);
        if (isAbsoluteUri(v)) assert.equal(schemaErrors({ ...base, dataschema: v }), undefined, v);
        // ajv-formats 2 takes a leap second only at local 23:59 and so rejects RFC 3339's own example
        // 1990-12-31T15:59:60-08:00; leap seconds are left out of this comparison. isTimestamp fixes
        // the layout (seconds at index 17), so this finds every one, whatever the fraction or offset.
        if (isTimestamp(v) && v.slice(17, 19) !== "60")
          assert.equal(schemaErrors({ ...base, time: v }), undefined, v);
      }),
      // Leap seconds at 23:59 UTC under each offset form the generator makes (a past counterexample first).
      {
        numRuns: 3000,
        examples: [
          ["0000-01-01T00:59:60+01:00"],
          ["1990-12-31T15:59:60-08:00"],
          ["1990-12-31T23:59:60.5Z"],
          ["1990-12-31t23:59:60z"],
        ],
      },
    );
  });
});
