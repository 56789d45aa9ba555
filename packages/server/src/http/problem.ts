// RFC 9457 problem details: every error answer of the server is one of these, built from a code of
// the catalog in @herald/protocol (status, title and `type` come from the row; detail per answer).
import type { ServerResponse } from "node:http";
import {
  CONTENT_LENGTH_HEADER,
  CONTENT_TYPE_HEADER,
  JSON_MEDIA_TYPE,
  PROBLEM_JSON_MEDIA_TYPE,
  PROBLEMS,
  type ProblemCode,
  type ProblemDetails,
  type ProblemFieldError,
  problemType,
} from "@herald/protocol";

export type { ProblemCode, ProblemFieldError };

export interface HttpProblemOptions {
  readonly errors?: readonly ProblemFieldError[];
  /** Extra members for the problem body (e.g. `actualVersion` on a version conflict). */
  readonly extensions?: Readonly<Record<string, unknown>>;
  /** Extra response headers (e.g. `Retry-After`, `WWW-Authenticate`). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly cause?: unknown;
}

/** Throw one of these from a handler; the router answers with `application/problem+json`. */
export class HttpProblem extends Error {
  readonly code: ProblemCode;
  readonly status: number;
  readonly title: string;
  readonly type: string;
  readonly errors: readonly ProblemFieldError[];
  readonly extensions: Readonly<Record<string, unknown>>;
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: ProblemCode, detail: string, options: HttpProblemOptions = {}) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
    const row = PROBLEMS[code];
    this.name = "HttpProblem";
    this.code = code;
    this.status = row.status;
    this.title = row.title;
    this.type = problemType(code);
    this.errors = options.errors ?? [];
    this.extensions = options.extensions ?? {};
    this.headers = options.headers ?? {};
  }

  toJSON(): ProblemDetails {
    return {
      ...this.extensions,
      type: this.type,
      title: this.title,
      status: this.status,
      detail: this.message,
      code: this.code,
      ...(this.errors.length > 0 ? { errors: this.errors } : {}),
    };
  }
}

export function sendProblem(res: ServerResponse, problem: HttpProblem): void {
  const body = JSON.stringify(problem.toJSON());
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(problem.status, {
    ...problem.headers,
    [CONTENT_TYPE_HEADER]: PROBLEM_JSON_MEDIA_TYPE,
    [CONTENT_LENGTH_HEADER]: Buffer.byteLength(body),
  });
  res.end(body);
}

/** Answers JSON. `body` may be a pre-serialized JSON string (the read paths splice stored event JSON). */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers?: Record<string, string>,
): void {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    [CONTENT_TYPE_HEADER]: JSON_MEDIA_TYPE,
    [CONTENT_LENGTH_HEADER]: Buffer.byteLength(text),
  });
  res.end(text);
}

/** The raw HTTP/1.1 answer for a refused upgrade (the socket has no ServerResponse). */
export function problemUpgradeResponse(problem: HttpProblem): string {
  const body = JSON.stringify(problem.toJSON());
  const headers = Object.entries(problem.headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("");
  return (
    `HTTP/1.1 ${problem.status} ${problem.title}\r\n${headers}${CONTENT_TYPE_HEADER}: ${PROBLEM_JSON_MEDIA_TYPE}\r\n` +
    `${CONTENT_LENGTH_HEADER}: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
  );
}
