// Reads an error answer into the problem it carries. Herald answers application/problem+json with a
// catalog `code`; anything else (a proxy, a plain-text body) becomes a ForeignProblem.
import { STATUS_CODES } from "node:http";
import { isProblemCode, type ProblemDetails, problemCodeOfType } from "@herald/protocol";
import type { ApiProblem, ForeignProblem } from "../errors.js";
import { parseJsonBody, type TransportResponse } from "./transport.js";

export function problemOf(response: TransportResponse): ApiProblem {
  return problemFromBody(response.status, response.body);
}

/** The same for a body read by other means (the SSE and WebSocket consumers' handshakes). */
export function problemFromBody(status: number, raw: Buffer | string, statusText?: string): ApiProblem {
  const response = { status, body: typeof raw === "string" ? Buffer.from(raw) : raw };
  const parsed = parseJsonBody(response.body);
  const title = statusText || (STATUS_CODES[status] ?? `HTTP ${status}`);
  if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) {
    const body = parsed as Record<string, unknown>;
    const status = typeof body.status === "number" ? body.status : response.status;
    // Older answers named the problem by `type` only; the code is derivable from it.
    const code = isProblemCode(body.code)
      ? body.code
      : typeof body.type === "string"
        ? problemCodeOfType(body.type)
        : undefined;
    if (code !== undefined) return { title, detail: "", ...body, status, code } as ProblemDetails;
    const { code: _unknownCode, ...rest } = body;
    return { title, ...rest, status } as ForeignProblem;
  }
  const text = response.body.toString("utf8").trim().slice(0, 500);
  return { status: response.status, title, ...(text ? { detail: text } : {}) };
}
