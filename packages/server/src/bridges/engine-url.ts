// Engine URLs, the one home of their scheme table and parsing: a subscription's sink that is an
// engine (outbound bridge) and an inbound source of the config file are both written as one.
//   nats://[user:pass@]host[:4222]/subject                  (inbound: ?stream=NAME, the JetStream stream)
//   amqp[s]://[user:pass@]host[:5672]/exchange[?routingKey=key]
//   redis[s]://[:pass@]host[:6379]/stream[?db=N]             (the path is the stream key, not the db)
//   mqtt[s]://[user:pass@]host[:1883]/topic/levels[?qos=0|1|2]
// Every refusal names the part of the URL that is wrong (scheme, host, port, path, query, …).

export type Engine = "nats" | "amqp" | "redis" | "mqtt";

/** Where the URL is used: the query parameters allowed differ. */
export type EngineUrlUse = "sink" | "inbound";

interface SchemeRow {
  readonly engine: Engine;
  readonly defaultPort: number;
  readonly secure: boolean;
  /** What the path names (for messages). */
  readonly target: string;
}

/** The scheme table: every engine scheme Herald bridges to, once. */
export const ENGINE_SCHEMES: Readonly<Record<string, SchemeRow>> = Object.freeze({
  "nats:": { engine: "nats", defaultPort: 4222, secure: false, target: "subject" },
  "amqp:": { engine: "amqp", defaultPort: 5672, secure: false, target: "exchange" },
  "amqps:": { engine: "amqp", defaultPort: 5671, secure: true, target: "exchange" },
  "redis:": { engine: "redis", defaultPort: 6379, secure: false, target: "stream" },
  "rediss:": { engine: "redis", defaultPort: 6379, secure: true, target: "stream" },
  "mqtt:": { engine: "mqtt", defaultPort: 1883, secure: false, target: "topic" },
  "mqtts:": { engine: "mqtt", defaultPort: 8883, secure: true, target: "topic" },
});

/** Query parameters allowed per engine and use. */
const QUERY: Readonly<Record<Engine, Readonly<Record<EngineUrlUse, readonly string[]>>>> = {
  nats: { sink: [], inbound: ["stream"] },
  amqp: { sink: ["routingKey"], inbound: [] },
  redis: { sink: ["db"], inbound: ["db"] },
  mqtt: { sink: ["qos"], inbound: ["qos"] },
};

export interface EngineUrl {
  readonly engine: Engine;
  readonly secure: boolean;
  readonly host: string;
  readonly port: number;
  readonly username: string | undefined;
  readonly password: string | undefined;
  /** The subject, exchange, stream key or topic (percent-decoded). */
  readonly target: string;
  /** `scheme://[user:pass@]host:port` (+ `/db` for Redis): connections are pooled by it. */
  readonly connection: string;
  /** The URL with the password replaced (for logs and metrics labels). */
  readonly display: string;
  readonly routingKey: string;
  readonly qos: 0 | 1 | 2;
  readonly db: number;
  /** NATS inbound: the stream holding the subject (default: the NATS transport's name for it). */
  readonly stream: string | undefined;
}

/** The part of an engine URL that is wrong, and why. */
export class EngineUrlError extends Error {
  readonly part: "url" | "scheme" | "host" | "port" | "path" | "query" | "fragment";
  readonly reason: string;
  constructor(part: EngineUrlError["part"], reason: string) {
    super(`${part}: ${reason}`);
    this.name = "EngineUrlError";
    this.part = part;
    this.reason = reason;
  }
}

/** Whether the text is a URL with an engine scheme (it may still be invalid: see parseEngineUrl). */
export function isEngineUrl(text: string): boolean {
  const colon = text.indexOf(":");
  return colon > 0 && Object.hasOwn(ENGINE_SCHEMES, text.slice(0, colon + 1).toLowerCase());
}

/** The engine schemes, for messages (`nats, amqp, amqps, …`). */
export function engineSchemes(): string {
  return Object.keys(ENGINE_SCHEMES)
    .map((s) => s.slice(0, -1))
    .join(", ");
}

/** Parses and checks an engine URL; throws EngineUrlError naming the bad part. */
export function parseEngineUrl(text: string, use: EngineUrlUse): EngineUrl {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new EngineUrlError("url", "is not a valid absolute URL");
  }
  const row = ENGINE_SCHEMES[url.protocol];
  if (row === undefined) throw new EngineUrlError("scheme", `must be one of ${engineSchemes()}`);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (host === "") throw new EngineUrlError("host", "is missing");
  if (url.hash !== "") throw new EngineUrlError("fragment", "is not allowed");
  const port = url.port === "" ? row.defaultPort : Number(url.port);
  let path: string;
  try {
    path = decodeURIComponent(url.pathname.replace(/^\//, ""));
  } catch {
    throw new EngineUrlError("path", "is not valid percent-encoding");
  }
  checkTarget(row.engine, path, use);

  const allowed = QUERY[row.engine][use];
  for (const name of url.searchParams.keys()) {
    if (!allowed.includes(name)) {
      throw new EngineUrlError(
        "query",
        `unknown parameter ${name} for a ${row.engine} ${use}${allowed.length > 0 ? ` (allowed: ${allowed.join(", ")})` : ""}`,
      );
    }
  }
  const routingKey = url.searchParams.get("routingKey") ?? "";
  if (routingKey.length > 255) throw new EngineUrlError("query", "routingKey is longer than 255 bytes");
  const qosText = url.searchParams.get("qos") ?? "1";
  if (qosText !== "0" && qosText !== "1" && qosText !== "2") {
    throw new EngineUrlError("query", "qos must be 0, 1 or 2");
  }
  const dbText = url.searchParams.get("db") ?? "0";
  if (!/^\d{1,2}$/.test(dbText)) throw new EngineUrlError("query", "db must be a database number");
  const stream = url.searchParams.get("stream") ?? undefined;
  if (stream !== undefined && !/^[A-Za-z0-9_-]{1,255}$/.test(stream)) {
    throw new EngineUrlError("query", "stream must be a JetStream stream name ([A-Za-z0-9_-])");
  }

  const username = url.username === "" ? undefined : decodeURIComponent(url.username);
  const password = url.password === "" ? undefined : decodeURIComponent(url.password);
  const auth = url.username === "" && url.password === "" ? "" : `${url.username}:${url.password}@`;
  const hostPort = `${url.hostname}:${port}`;
  const suffix = row.engine === "redis" ? `/${dbText}` : "";
  return {
    engine: row.engine,
    secure: row.secure,
    host,
    port,
    username,
    password,
    target: path,
    connection: `${url.protocol}//${auth}${hostPort}${suffix}`,
    display: redactEngineUrl(text),
    routingKey,
    qos: Number(qosText) as 0 | 1 | 2,
    db: Number(dbText),
    stream,
  };
}

/** The URL with its password (if any) replaced by `********`; text that is no URL comes back as is. */
export function redactEngineUrl(text: string, mask = "********"): string {
  try {
    const url = new URL(text);
    if (url.password === "") return text;
    url.password = mask;
    return url.toString();
  } catch {
    return text;
  }
}

/** On PUT, an engine URL sent back with the masked password keeps the stored one. */
export function restoreEngineUrlPassword(next: string, previous: string, mask = "********"): string {
  try {
    const url = new URL(next);
    if (decodeURIComponent(url.password) !== mask) return next;
    const before = new URL(previous);
    if (before.password === "") return next;
    url.password = before.password;
    return url.toString();
  } catch {
    return next;
  }
}

function checkTarget(engine: Engine, path: string, use: EngineUrlUse): void {
  const what =
    engine === "nats" ? "subject" : engine === "amqp" ? "exchange" : engine === "redis" ? "stream" : "topic";
  if (path === "") throw new EngineUrlError("path", `must name the ${what} (${engine}://host/${what})`);
  switch (engine) {
    case "nats":
      // Publishing needs a literal subject; tokens are separated by dots and never empty.
      if (/[\s*>]/.test(path) || path.split(".").some((token) => token === "")) {
        throw new EngineUrlError(
          "path",
          `${JSON.stringify(path)} is not a NATS subject without wildcards (dot-separated, non-empty tokens, no spaces)`,
        );
      }
      return;
    case "amqp":
      if (path.includes("/") || Buffer.byteLength(path) > 255) {
        throw new EngineUrlError("path", "must be one exchange name of at most 255 bytes");
      }
      if (use === "inbound" && path.startsWith("amq.")) {
        throw new EngineUrlError("path", "an inbound topic cannot be a broker exchange (amq.*)");
      }
      return;
    case "redis":
      if (path.includes("/"))
        throw new EngineUrlError("path", "must be one stream key (percent-encode a `/`)");
      return;
    case "mqtt":
      if (/[+#]/.test(path) || path.includes("\0")) {
        throw new EngineUrlError("path", "must be an MQTT topic without wildcards (+, #)");
      }
      if (use === "sink" && path.startsWith("$")) {
        throw new EngineUrlError("path", "topics starting with $ belong to the broker");
      }
      return;
  }
}
