// RFC 9457 problem details: every error answer of the server is one of these.
import type { ServerResponse } from "node:http";

export interface ProblemFieldError {
  /** The invalid field: an attribute name, a JSON pointer, a header or query parameter. */
  readonly field: string;
  readonly reason: string;
}

/** Throw one of these from a handler; the router answers with `application/problem+json`. */
export class HttpProblem extends Error {
  readonly status: number;
  readonly title: string;
  readonly type: string;
  readonly errors: readonly ProblemFieldError[];
  /** Extra members for the problem body (e.g. `actualVersion` on a version conflict). */
  readonly extensions: Readonly<Record<string, unknown>>;
  /** Extra response headers (e.g. `Retry-After`, `WWW-Authenticate`). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    status: number,
    title: string,
    detail: string,
    options: {
      type?: string;
      errors?: readonly ProblemFieldError[];
      extensions?: Record<string, unknown>;
      headers?: Record<string, string>;
    } = {},
  ) {
    super(detail);
    this.name = "HttpProblem";
    this.status = status;
    this.title = title;
    this.type = options.type ?? `https://herald.dev/problems/${slug(title)}`;
    this.errors = options.errors ?? [];
    this.extensions = options.extensions ?? {};
    this.headers = options.headers ?? {};
  }

  toJSON(): Record<string, unknown> {
    const body: Record<string, unknown> = {
      type: this.type,
      title: this.title,
      status: this.status,
      detail: this.message,
      ...this.extensions,
    };
    if (this.errors.length > 0) body.errors = this.errors;
    return body;
  }
}

function slug(title: string): string {
  return title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
}

export const badRequest = (detail: string, errors?: readonly ProblemFieldError[]): HttpProblem =>
  new HttpProblem(400, "Bad Request", detail, errors ? { errors } : {});
export const notFound = (detail: string): HttpProblem => new HttpProblem(404, "Not Found", detail);
export const conflict = (detail: string, extensions?: Record<string, unknown>): HttpProblem =>
  new HttpProblem(409, "Conflict", detail, extensions ? { extensions } : {});
export const payloadTooLarge = (detail: string): HttpProblem =>
  new HttpProblem(413, "Payload Too Large", detail);
export const unsupportedMediaType = (detail: string): HttpProblem =>
  new HttpProblem(415, "Unsupported Media Type", detail);
export const unprocessable = (detail: string, errors?: readonly ProblemFieldError[]): HttpProblem =>
  new HttpProblem(422, "Invalid Event", detail, errors ? { errors } : {});

export function sendProblem(res: ServerResponse, problem: HttpProblem): void {
  const body = JSON.stringify(problem.toJSON());
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(problem.status, {
    ...problem.headers,
    "content-type": "application/problem+json",
    "content-length": Buffer.byteLength(body),
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
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}
