// POSTs events to a sink URL (replay), retrying what is worth retrying.
import { describeNetworkError, type JsonEvent } from "./api-client.js";

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
  readonly encode: (event: JsonEvent) => HttpMessage;
  /** Extra attempts after the first for 408, 429, 5xx and network errors. */
  readonly retries: number;
  readonly timeoutMs?: number;
  /** First retry delay; doubles per attempt. */
  readonly backoffMs?: number;
}

export async function deliver(event: JsonEvent, options: SinkOptions): Promise<void> {
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
