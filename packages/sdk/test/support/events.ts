// Small helpers for unit tests: events and a context for calling a handler directly.
import { CloudEvent, type CloudEventInit } from "@herald/cloudevents";
import { type HandlerContext, UnitOfWork } from "@herald/sdk";

let n = 0;
export function event(init: Partial<CloudEventInit> = {}): CloudEvent {
  n++;
  return new CloudEvent({ source: "/test", type: "test.happened", id: `e-${n}`, data: { n }, ...init });
}

export function unitFor(
  e: CloudEvent,
  attempt = 1,
  signal: AbortSignal = new AbortController().signal,
): UnitOfWork {
  return new UnitOfWork(e, { attempt, signal, transport: "direct" });
}

export function ctxFor(e: CloudEvent, attempt = 1): HandlerContext {
  return unitFor(e, attempt).context;
}

export function deferred<T = void>(): {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
} {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
