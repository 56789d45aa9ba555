// Reads a JSON-lines input (a file or stdin) line by line, reporting bytes consumed.
import { createReadStream, statSync } from "node:fs";
import type { Readable } from "node:stream";
import { CliError, UsageError } from "./errors.js";

export interface InputLine {
  readonly text: string;
  /** 1-based line number. */
  readonly line: number;
  /** Bytes of input up to and including this line's end. */
  readonly bytesRead: number;
}

export interface LineSource {
  /** Size in bytes when known (a regular file). */
  readonly size: number | undefined;
  readonly name: string;
  lines(): AsyncGenerator<InputLine>;
}

/** `-` is stdin; anything else is a file path. */
export function openLineSource(path: string, stdin: Readable = process.stdin): LineSource {
  if (path === "-") return { size: undefined, name: "stdin", lines: () => splitLines(stdin) };
  let size: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new UsageError(`--file ${path} is not a regular file`);
    size = stat.size;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`cannot read --file ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  return { size, name: path, lines: () => splitLines(createReadStream(path)) };
}

/** Splits on \n (tolerating \r\n) and decodes each line once. */
async function* splitLines(input: Readable): AsyncGenerator<InputLine> {
  let pending: Buffer[] = [];
  // Bytes of all chunks before the current one: a line ends at `consumed + index of its \n + 1`.
  let consumed = 0;
  let line = 0;
  try {
    for await (const chunk of input) {
      const buffer = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
      let start = 0;
      for (let nl = buffer.indexOf(10); nl !== -1; nl = buffer.indexOf(10, start)) {
        pending.push(buffer.subarray(start, nl));
        line++;
        const text = Buffer.concat(pending).toString("utf8").replace(/\r$/, "");
        pending = [];
        start = nl + 1;
        yield { text, line, bytesRead: consumed + start };
      }
      if (start < buffer.length) pending.push(buffer.subarray(start));
      consumed += buffer.length;
    }
  } catch (error) {
    throw new CliError(`cannot read input: ${(error as Error).message}`);
  }
  if (pending.length > 0) {
    line++;
    yield { text: Buffer.concat(pending).toString("utf8"), line, bytesRead: consumed };
  }
}
