// POSTs events to a sink URL (replay), retrying what is worth retrying.
// The sink is any HTTP endpoint, not Herald: this is the CLI's only request outside HeraldClient.
import type { JsonEventObject } from "@herald/protocol";

export type ContentMode = "binary" | "structured";

export interface HttpMessage {
  readonly headers: Record<string, string>;
  readonly body: string | Uint8Array;
}

/** The sink refused the event for good, or kept failing after all retries. */
export class SinkError extends Error {
  readonly status: number | undefined;
  constructor(message: string, status?: number) {
    super(message);
    this.name = "SinkError";
    this.status = status;
  }
}

export interface SinkOptions {
  readonly url: string;
  readonly encode: (event: JsonEventObject) => HttpMessage;
  /** Extra attempts after the first for 408, 429, 5xx and network errors. */
  readonly retries: number;
  readonly timeoutMs?: number;
  /** First retry delay; doubles per attempt. */
  readonly backoffMs?: number;
}

export async function deliver(event: JsonEventObject, options: SinkOptions): Promise<void> {
  let message: HttpMessage;
  try {
    message = options.encode(event);
  } catch (error) {
    throw new SinkError(`cannot encode the event for the sink: ${(error as Error).message}`);
  }
  let lastFailure = "";
  for (let attempt = 0; attempt <= options.retries; attempt++) {
    if (attempt > 0) await delay((options.backoffMs ?? 200) * 2 ** (attempt - 1));
    let response: Response;
    try {
      response = await fetch(options.url, {
        method: "POST",
        headers: message.headers,
        body: message.body,
        signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
      });
    } catch (error) {
      lastFailure = describeNetworkError(error);
      continue;
    }
    const text = await response.text();
    if (response.ok) return;
    lastFailure = `${response.status} ${response.statusText}${text ? `: ${text.trim().slice(0, 200)}` : ""}`;
    if (!isRetryable(response.status)) throw new SinkError(`sink answered ${lastFailure}`, response.status);
  }
  throw new SinkError(`sink failed after ${options.retries + 1} attempts: ${lastFailure}`);
}

function isRetryable(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Finds the useful part of fetch's "fetch failed" (the cause's code and message). */
function describeNetworkError(error: unknown): string {
  if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
    return "timed out waiting for an answer";
  }
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") {
      return current.message.includes(code) ? current.message : `${code} ${current.message}`.trim();
    }
    if (current.cause === undefined) return current.message;
    current = current.cause;
  }
  return String(current);
}
