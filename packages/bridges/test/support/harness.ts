// A `herald serve` with the engine bridges, in process, and the HTTP calls the tests make.
import { engineBridges } from "@herald/bridges";
import { type HeraldServer, type StartServerOptions, startServer } from "@herald/server";

export async function startBridged(options: StartServerOptions = {}): Promise<HeraldServer> {
  return startServer({
    port: 0,
    logLevel: "silent",
    storage: "memory",
    bridges: engineBridges(),
    ...options,
  });
}

export interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

export async function call(
  server: HeraldServer,
  method: string,
  path: string,
  body?: unknown,
): Promise<Answer> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
  });
  const text = await response.text();
  return { status: response.status, body: text === "" ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

/** Publishes events in structured mode; answers the results. */
export async function publish(
  server: HeraldServer,
  events: ReadonlyArray<Record<string, unknown>>,
): Promise<void> {
  const response = await fetch(`${server.url}/events`, {
    method: "POST",
    body: JSON.stringify(events.map((e) => ({ specversion: "1.0", ...e }))),
    headers: { "content-type": "application/cloudevents-batch+json" },
  });
  if (response.status !== 200)
    throw new Error(`publish answered ${response.status}: ${await response.text()}`);
}

export interface LoggedEvent {
  readonly position: number;
  readonly stream: string;
  readonly event: Record<string, unknown>;
}

/** Every event of the log (not the `$` streams). */
export async function allEvents(server: HeraldServer): Promise<LoggedEvent[]> {
  const out: LoggedEvent[] = [];
  let after: number | undefined;
  for (;;) {
    const answer = await call(
      server,
      "GET",
      `/events?limit=1000${after === undefined ? "" : `&after=${after}`}`,
    );
    const events = answer.body.events as LoggedEvent[];
    out.push(...events.filter((e) => !e.stream.startsWith("$")));
    if (events.length < 1000) return out;
    after = answer.body.next as number;
  }
}

export interface DeadLetterView {
  readonly reason: string;
  readonly attempts: number;
  readonly lastError: string;
  readonly event: Record<string, unknown>;
}

export async function deadLetters(server: HeraldServer, subscription: string): Promise<DeadLetterView[]> {
  const answer = await call(server, "GET", `/subscriptions/${subscription}/dead-letters`);
  return answer.body.deadLetters as DeadLetterView[];
}

/** Polls until `check` answers a value (not undefined); fails after `ms`. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  what: string,
  ms = 20_000,
): Promise<T> {
  const until = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > until)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The value of one metric series in /metrics (0 when absent). */
export async function metric(
  server: HeraldServer,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  return (await series(server, name, labels)) ?? 0;
}

/** The value of one metric series in /metrics, undefined when there is no such series. */
export async function series(
  server: HeraldServer,
  name: string,
  labels: Record<string, string>,
): Promise<number | undefined> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    if (wanted.every((pair) => line.includes(pair))) return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return undefined;
}
