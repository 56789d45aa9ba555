// Answer compression (node:zlib): br, gzip or deflate as the client's Accept-Encoding ranks them, for
// complete bodies of at least COMPRESS_MIN_BYTES. Smaller answers (the ingest results of one event, most
// problems) go out as they are without even parsing the header: below ~1 KiB the framing overhead of a
// compressed body eats most of the gain. Streams (SSE) never come here.
import { brotliCompressSync, constants, deflateSync, gzipSync } from "node:zlib";

export const ACCEPT_ENCODING_HEADER = "accept-encoding";
export const CONTENT_ENCODING_HEADER = "content-encoding";
export const VARY_HEADER = "vary";
export const COMPRESS_MIN_BYTES = 1024;

export type Encoding = "br" | "gzip" | "deflate";
/** On equal q-values the first wins. */
const PREFERENCE: readonly Encoding[] = ["br", "gzip", "deflate"];
/** Brotli's default quality (11) is meant for static assets, far too slow for answers made per request. */
const BROTLI_OPTIONS = { params: { [constants.BROTLI_PARAM_QUALITY]: 4 } };

/**
 * The encoding to use for an `Accept-Encoding` value, or undefined for identity. `*` stands for every
 * coding not named; `q=0` refuses one.
 */
export function negotiateEncoding(header: string | string[] | undefined): Encoding | undefined {
  if (header === undefined) return undefined;
  const value = Array.isArray(header) ? header.join(",") : header;
  const q = new Map<string, number>();
  for (const part of value.split(",")) {
    const [name, ...params] = part.split(";").map((p) => p.trim().toLowerCase());
    if (name === undefined || name === "") continue;
    let weight = 1;
    for (const param of params) {
      const match = /^q=([01](?:\.\d{0,3})?)$/.exec(param);
      if (match) weight = Number(match[1]);
    }
    q.set(name, weight);
  }
  let best: Encoding | undefined;
  let bestQ = 0;
  for (const encoding of PREFERENCE) {
    const weight = q.get(encoding) ?? q.get("*") ?? 0;
    if (weight > bestQ) {
      best = encoding;
      bestQ = weight;
    }
  }
  return best;
}

/**
 * The body to send for `text` and its encoding (undefined: as it is). `vary` says the choice depended on
 * Accept-Encoding, so caches must key on it.
 */
export function compress(
  acceptEncoding: string | string[] | undefined,
  text: string,
): { body: string | Buffer; encoding?: Encoding; vary: boolean } {
  // text.length <= its UTF-8 bytes: a short string is known to be small without encoding it.
  if (acceptEncoding === undefined || text.length < COMPRESS_MIN_BYTES) return { body: text, vary: false };
  const encoding = negotiateEncoding(acceptEncoding);
  if (encoding === undefined) return { body: text, vary: true };
  const input = Buffer.from(text);
  const body =
    encoding === "br"
      ? brotliCompressSync(input, BROTLI_OPTIONS)
      : encoding === "gzip"
        ? gzipSync(input)
        : deflateSync(input);
  return { body, encoding, vary: true };
}
