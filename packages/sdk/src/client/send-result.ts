// What happened to a send, exactly: the broker made it durable (ack), refused it (nack), or never
// answered (undelivered, after the automatic retries).
import type { AppendedEvent } from "@herald/protocol";
import type { ApiProblem } from "../errors.js";

/** The broker's answer for one stored event: `POST /events` `results[]` (@herald/protocol). */
export type { AppendedEvent };

export interface SendAck extends AppendedEvent {
  readonly kind: "ack";
  readonly ok: true;
  /** HTTP attempts made (retries of undelivered sends included). */
  readonly attempts: number;
}

export interface SendNack {
  readonly kind: "nack";
  readonly ok: false;
  /** HTTP status of the refusal (400, 409, 413, 415, 422, 401/403, or 429/5xx once retries ran out). */
  readonly status: number;
  readonly problem: ApiProblem;
  readonly attempts: number;
}

export interface SendUndelivered {
  readonly kind: "undelivered";
  readonly ok: false;
  /** The last network error or timeout (a TransportError). */
  readonly error: Error;
  readonly attempts: number;
}

export type SendResult = SendAck | SendNack | SendUndelivered;

export interface BatchAck {
  readonly kind: "ack";
  readonly ok: true;
  /** One per event, in order. A batch is atomic: all stored or none. */
  readonly results: readonly AppendedEvent[];
  readonly attempts: number;
}

export type BatchSendResult = BatchAck | SendNack | SendUndelivered;

/** Thrown by calls that need a successful send (request(), publishing a handler's output). */
export class SendFailedError extends Error {
  override readonly name = "SendFailedError";
  readonly result: SendNack | SendUndelivered;
  constructor(result: SendNack | SendUndelivered) {
    super(
      result.kind === "nack"
        ? `herald refused the event (${result.status}): ${result.problem.title ?? ""}${result.problem.detail ? ` — ${result.problem.detail}` : ""}`
        : `event not delivered after ${result.attempts} attempt(s): ${result.error.message}`,
    );
    this.result = result;
  }
}
