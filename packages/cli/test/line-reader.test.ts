// Line splitting and byte counting across arbitrary chunk boundaries.
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { test } from "node:test";
import fc from "fast-check";
import { openLineSource } from "../src/line-reader.js";

async function readAll(chunks: Buffer[]) {
  const source = openLineSource("-", Readable.from(chunks));
  const lines = [];
  for await (const line of source.lines()) lines.push(line);
  return lines;
}

test("lines and byte offsets do not depend on how the input is chunked", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.string({ unit: "grapheme", maxLength: 12 }).map((s) => s.replace(/[\r\n]/g, "")),
        {
          maxLength: 8,
        },
      ),
      fc.boolean(),
      fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 10 }),
      async (texts, trailingNewline, sizes) => {
        const whole = Buffer.from(texts.join("\n") + (trailingNewline && texts.length > 0 ? "\n" : ""));
        const chunks: Buffer[] = [];
        for (let offset = 0, i = 0; offset < whole.length; i++) {
          const size = sizes[i % sizes.length] ?? 1;
          chunks.push(whole.subarray(offset, offset + size));
          offset += size;
        }
        const lines = await readAll(chunks);
        const expected = whole.length === 0 ? [] : whole.toString().replace(/\n$/, "").split("\n");
        assert.deepEqual(
          lines.map((l) => l.text),
          expected,
        );
        assert.deepEqual(
          lines.map((l) => l.line),
          expected.map((_, i) => i + 1),
        );
        // Each line's end offset: the bytes of every line before it plus their newlines.
        let offset = 0;
        for (const [i, line] of lines.entries()) {
          offset += Buffer.byteLength(expected[i] ?? "");
          if (whole[offset] === 10) offset += 1;
          assert.equal(line.bytesRead, offset);
        }
      },
    ),
    { numRuns: 200 },
  );
});

test("CRLF line ends are tolerated", async () => {
  const lines = await readAll([Buffer.from('{"a":1}\r\n{"b"'), Buffer.from(":2}\r\n")]);
  assert.deepEqual(
    lines.map((l) => l.text),
    ['{"a":1}', '{"b":2}'],
  );
});
