// Request bodies: read into memory with a hard size limit (413 past it, never an unbounded buffer),
// decoded from gzip/deflate/br on the way in (the limit counts decoded bytes, so a compression bomb
// stops at the limit), refused with 415 when a JSON endpoint gets a non-JSON media type (a text/plain
// POST is a "simple" cross-origin request that browsers send without preflight), and checked for
// JSON nesting before anything parses or re-encodes them (deep input overflows recursive encoders).
import type { IncomingMessage } from "node:http";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";
import { CONTENT_TYPE_HEADER } from "@herald/protocol";
import { HttpProblem } from "./problem.js";

/** Stacked codings (`Content-Encoding: gzip, br`) are decoded in reverse order, at most this many. */
export const MAX_STACKED_ENCODINGS = 2;

type Coding = "gzip" | "deflate" | "br";

/**
 * The codings to undo, in the order they must be undone (the reverse of the header's), without
 * `identity`. Throws `unsupported-encoding` for anything else.
 */
export function contentCodings(header: string | string[] | undefined): Coding[] {
  if (header === undefined) return [];
  const listed = (Array.isArray(header) ? header.join(",") : header)
    .split(",")
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== "" && c !== "identity");
  const codings: Coding[] = [];
  for (const coding of listed) {
    if (coding === "gzip" || coding === "x-gzip") codings.push("gzip");
    else if (coding === "deflate" || coding === "br") codings.push(coding);
    else {
      throw new HttpProblem(
        "unsupported-encoding",
        `Content-Encoding ${JSON.stringify(coding)} is not supported (gzip, deflate, br or identity)`,
        { errors: [{ field: "Content-Encoding", reason: `unsupported coding ${JSON.stringify(coding)}` }] },
      );
    }
  }
  if (codings.length > MAX_STACKED_ENCODINGS) {
    throw new HttpProblem(
      "unsupported-encoding",
      `at most ${MAX_STACKED_ENCODINGS} stacked content codings are decoded; ${codings.length} were sent`,
      { errors: [{ field: "Content-Encoding", reason: "too many stacked codings" }] },
    );
  }
  return codings.reverse();
}

function tooLarge(limitBytes: number, decoded: boolean): HttpProblem {
  return new HttpProblem(
    "payload-too-large",
    `body exceeds the limit of ${limitBytes} bytes${decoded ? " once decoded" : ""}`,
  );
}

/** The body, decoded from its Content-Encoding; 413 once more than `limitBytes` (raw or decoded) arrive. */
export async function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > limitBytes) {
    req.resume();
    throw new HttpProblem(
      "payload-too-large",
      `body of ${declared} bytes exceeds the limit of ${limitBytes} bytes`,
    );
  }
  let codings: Coding[];
  try {
    codings = contentCodings(req.headers["content-encoding"]);
  } catch (error) {
    req.resume();
    throw error;
  }
  return codings.length === 0 ? readRaw(req, limitBytes) : readDecoded(req, codings, limitBytes);
}

// Plain 'data'/'end' listeners: cheaper than the async iterator on the ingest hot path.
function readRaw(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) {
        cleanup();
        req.resume();
        reject(tooLarge(limitBytes, false));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onClose = () => {
      if (req.complete) return;
      cleanup();
      reject(new HttpProblem("bad-request", "the request body ended early"));
    };
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("close", onClose);
  });
}

/**
 * Streams the body through the decoders and stops at the limit: the decoded bytes are never
 * inflated past `limitBytes` (+ one zlib chunk). The request itself is never destroyed (only
 * drained), so the refusal still reaches the client.
 */
function readDecoded(req: IncomingMessage, codings: readonly Coding[], limitBytes: number): Promise<Buffer> {
  const decoders = codings.map((c) =>
    c === "gzip" ? createGunzip() : c === "deflate" ? createInflate() : createBrotliDecompress(),
  );
  for (let i = 0; i + 1 < decoders.length; i++) decoders[i]!.pipe(decoders[i + 1]!);
  const first = decoders[0]!;
  const last = decoders.at(-1)!;
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let raw = 0;
    let size = 0;
    let settled = false;
    const finish = (error: Error | undefined, body?: Buffer) => {
      if (settled) return;
      settled = true;
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("close", onClose);
      for (const d of decoders) d.destroy();
      if (!req.readableEnded) req.resume();
      if (error) reject(error);
      else resolve(body!);
    };
    const onData = (chunk: Buffer) => {
      raw += chunk.length;
      if (raw > limitBytes) return finish(tooLarge(limitBytes, false));
      if (!first.write(chunk)) {
        req.pause();
        first.once("drain", () => req.resume());
      }
    };
    // No bytes at all is an empty body, whatever the coding (zlib would call it truncated).
    const onEnd = () => (raw === 0 ? finish(undefined, Buffer.alloc(0)) : first.end());
    const onClose = () => {
      if (!req.complete) finish(new HttpProblem("bad-request", "the request body ended early"));
    };
    last.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) return finish(tooLarge(limitBytes, true));
      chunks.push(chunk);
    });
    last.on("end", () => finish(undefined, Buffer.concat(chunks, size)));
    for (let i = 0; i < decoders.length; i++) {
      decoders[i]!.on("error", (error) =>
        finish(
          new HttpProblem("bad-request", `the body is not valid ${codings[i]} data: ${error.message}`, {
            errors: [{ field: "Content-Encoding", reason: `body does not decode as ${codings[i]}` }],
            cause: error,
          }),
        ),
      );
    }
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", (error) => finish(error));
    req.on("close", onClose);
  });
}

/** Media types a JSON endpoint reads: `application/json`, any `+json`, `application/cloudevents*`. */
export function isJsonBodyType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const semi = contentType.indexOf(";");
  const essence = (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  return (
    essence === "application/json" ||
    essence.endsWith("+json") ||
    essence.startsWith("application/cloudevents")
  );
}

/** 415 unless the request declares a JSON media type (a missing Content-Type is refused too). */
export function requireJsonType(req: IncomingMessage): void {
  const contentType = req.headers[CONTENT_TYPE_HEADER];
  if (isJsonBodyType(contentType)) return;
  req.resume();
  throw new HttpProblem(
    "unsupported-media-type",
    `this endpoint reads JSON (application/json or a +json type), not ${contentType ?? "a body without Content-Type"}`,
    { errors: [{ field: "Content-Type", reason: "must be application/json or a +json media type" }] },
  );
}

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * The deepest nesting of `[` and `{` in JSON text, outside strings: one linear pass, no recursion.
 * Works on UTF-8 bytes (a quote or backslash byte never occurs inside a multi-byte sequence).
 * Stops counting as soon as `limit` is passed; malformed text is left to the parser.
 * Measured (node 20, one core): a 214-byte event takes 0.45 µs (fast path; its JSON.parse 2.6 µs);
 * a 1.3 MB event with 100 000 objects 2.6 ms, a tenth of its JSON.parse (27 ms).
 */
export function jsonDepthExceeds(body: Uint8Array, limit: number): boolean {
  // Fast path: fewer openers than the limit cannot nest deeper than it (two native scans).
  if (countByte(body, OPEN_BRACE, limit) + countByte(body, OPEN_BRACKET, limit) <= limit) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > limit) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
  }
  return false;
}

/** Occurrences of `byte`, counting no further than `stopAfter + 1`. */
function countByte(body: Uint8Array, byte: number, stopAfter: number): number {
  const buffer = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  let count = 0;
  for (let at = buffer.indexOf(byte); at !== -1 && count <= stopAfter; at = buffer.indexOf(byte, at + 1)) {
    count++;
  }
  return count;
}

/** 422 `json-too-deep` when `body` nests deeper than `limit` (+ `envelope` levels that wrap the data). */
export function checkJsonDepth(body: Uint8Array, limit: number, what: string, envelope = 0): void {
  if (!jsonDepthExceeds(body, limit + envelope)) return;
  throw new HttpProblem("json-too-deep", `${what} nests deeper than the limit of ${limit} levels`, {
    errors: [{ field: what, reason: `nested deeper than ${limit} levels (limits.maxJsonDepth)` }],
    extensions: { maxJsonDepth: limit },
  });
}

export interface JsonBodyLimits {
  readonly maxBodyBytes: number;
  readonly maxJsonDepth: number;
}

/**
 * Reads a JSON request body: 415 unless its Content-Type is JSON, 422 when it nests too deep,
 * 400 with the parser's reason when it is not JSON. An empty body is `undefined`.
 */
export async function readJsonBody(req: IncomingMessage, limits: JsonBodyLimits): Promise<unknown> {
  requireJsonType(req);
  const body = await readBody(req, limits.maxBodyBytes);
  if (body.length === 0) return undefined;
  checkJsonDepth(body, limits.maxJsonDepth, "body");
  try {
    return JSON.parse(body.toString("utf8"));
  } catch (error) {
    throw new HttpProblem("json-invalid", `request body is not valid JSON: ${(error as Error).message}`);
  }
}
