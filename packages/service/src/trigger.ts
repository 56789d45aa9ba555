// Triggers: what makes an event happen, and their one-line key form shared by TypeScript definitions,
// YAML files, logs, stats and the generated documents:
//   http.<method>.<path>          http.post./orders/:id
//   ws.<path>                     ws./chat
//   cron.<schedule>.<timezone>    cron.*/5 * * * *.Europe/Paris  (timezone optional: UTC)
//   herald.<subscription>         herald.orders-billing
//   nats.<subject>.<group>        nats.orders.placed.billing   (subject orders.placed, group billing)
//   redis.<stream>.<group>        redis.orders.billing
//   rabbitmq.<queue>              rabbitmq.orders              (the members of every instance share it)
//   mqtt.<topic>                  mqtt.factory/+/temperature   (a shared subscription of the app's members)
// Cron expressions and IANA timezone names never contain a dot, so the last dot of a cron key splits them;
// group names never contain one either, so the last dot of a nats/redis key splits subject and group.

export const HTTP_METHODS = ["get", "post", "put", "patch", "delete"] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export interface HttpTrigger {
  readonly kind: "http";
  readonly method: HttpMethod;
  /** `/orders/:id`: `:name` segments are path parameters. */
  readonly path: string;
}
export interface WsTrigger {
  readonly kind: "ws";
  readonly path: string;
}
export interface CronTrigger {
  readonly kind: "cron";
  /** 5 fields (minute precision) or 6 (with seconds), as croner reads them. */
  readonly schedule: string;
  /** IANA name (default UTC). */
  readonly timezone: string;
}
export interface HeraldTrigger {
  readonly kind: "herald";
  /** The subscription id. */
  readonly subscription: string;
}
/** The engines a transport source runs on (the SDK transport contract over each). */
export const TRANSPORT_ENGINES = ["nats", "rabbitmq", "redis", "mqtt"] as const;
export type TransportEngine = (typeof TRANSPORT_ENGINES)[number];
/** The consumer group of the engines whose key names none (rabbitmq, mqtt). */
export const DEFAULT_TRANSPORT_GROUP = "app";

export interface TransportTrigger {
  readonly kind: "transport";
  readonly engine: TransportEngine;
  /** The subject, stream, queue or topic (the transport's `topic`). */
  readonly topic: string;
  /** The consumer group (the transport's `group`). */
  readonly group: string;
}
export type Trigger = HttpTrigger | WsTrigger | CronTrigger | HeraldTrigger | TransportTrigger;

/** A key that does not name a trigger. */
export class TriggerKeyError extends Error {
  override readonly name = "TriggerKeyError";
}

export const http = {
  get: (path: string): HttpTrigger => httpTrigger("get", path),
  post: (path: string): HttpTrigger => httpTrigger("post", path),
  put: (path: string): HttpTrigger => httpTrigger("put", path),
  patch: (path: string): HttpTrigger => httpTrigger("patch", path),
  delete: (path: string): HttpTrigger => httpTrigger("delete", path),
};
export const ws = (path: string): WsTrigger => ({ kind: "ws", path: checkPath(path) });
export const cron = (schedule: string, timezone = "UTC"): CronTrigger => {
  if (schedule.includes("."))
    throw new TriggerKeyError(`cron schedule ${JSON.stringify(schedule)} has a dot`);
  if (schedule.trim() === "") throw new TriggerKeyError("cron schedule is empty");
  return { kind: "cron", schedule: schedule.trim(), timezone: checkTimezone(timezone) };
};
export const herald = (subscription: string): HeraldTrigger => {
  if (subscription === "") throw new TriggerKeyError("subscription id is empty");
  return { kind: "herald", subscription };
};

export const nats = (subject: string, group: string): TransportTrigger => transport("nats", subject, group);
export const redis = (stream: string, group: string): TransportTrigger => transport("redis", stream, group);
export const rabbitmq = (queue: string): TransportTrigger =>
  transport("rabbitmq", queue, DEFAULT_TRANSPORT_GROUP);
export const mqtt = (topic: string): TransportTrigger => transport("mqtt", topic, DEFAULT_TRANSPORT_GROUP);

function transport(engine: TransportEngine, topic: string, group: string): TransportTrigger {
  if (topic === "") throw new TriggerKeyError(`${engine}: the ${topicWord(engine)} is empty`);
  if (/\s/.test(topic)) throw new TriggerKeyError(`${engine}: ${JSON.stringify(topic)} holds a space`);
  if (group === "" || group.includes("."))
    throw new TriggerKeyError(`${engine}: group ${JSON.stringify(group)} must be non-empty, without a dot`);
  return { kind: "transport", engine, topic, group };
}

function topicWord(engine: TransportEngine): string {
  return { nats: "subject", redis: "stream", rabbitmq: "queue", mqtt: "topic" }[engine];
}

/** `nats.<subject>.<group>` / `redis.<stream>.<group>`: the last dot splits. */
function grouped(engine: "nats" | "redis", key: string, rest: string): TransportTrigger {
  const last = rest.lastIndexOf(".");
  if (last <= 0 || last === rest.length - 1)
    throw new TriggerKeyError(
      `${JSON.stringify(key)}: expected ${engine}.<${topicWord(engine)}>.<group>, e.g. ${engine}.orders.billing`,
    );
  return transport(engine, rest.slice(0, last), rest.slice(last + 1));
}

function httpTrigger(method: HttpMethod, path: string): HttpTrigger {
  return { kind: "http", method, path: checkPath(path) };
}

function checkPath(path: string): string {
  if (!path.startsWith("/")) throw new TriggerKeyError(`path ${JSON.stringify(path)} must start with /`);
  if (/[?#\s]/.test(path))
    throw new TriggerKeyError(`path ${JSON.stringify(path)} must not hold a query, fragment or space`);
  return path;
}

function checkTimezone(timezone: string): string {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: timezone });
  } catch {
    throw new TriggerKeyError(`unknown timezone ${JSON.stringify(timezone)}`);
  }
  return timezone;
}

export function triggerKey(trigger: Trigger): string {
  switch (trigger.kind) {
    case "http":
      return `http.${trigger.method}.${trigger.path}`;
    case "ws":
      return `ws.${trigger.path}`;
    case "cron":
      return `cron.${trigger.schedule}.${trigger.timezone}`;
    case "herald":
      return `herald.${trigger.subscription}`;
    case "transport":
      return trigger.engine === "nats" || trigger.engine === "redis"
        ? `${trigger.engine}.${trigger.topic}.${trigger.group}`
        : `${trigger.engine}.${trigger.topic}`;
  }
}

export function parseTriggerKey(key: string): Trigger {
  const dot = key.indexOf(".");
  const kind = dot < 0 ? key : key.slice(0, dot);
  const rest = dot < 0 ? "" : key.slice(dot + 1);
  switch (kind) {
    case "http": {
      const second = rest.indexOf(".");
      const method = (second < 0 ? rest : rest.slice(0, second)).toLowerCase();
      if (!(HTTP_METHODS as readonly string[]).includes(method))
        throw new TriggerKeyError(
          `${JSON.stringify(key)}: expected http.<${HTTP_METHODS.join("|")}>.<path>, e.g. http.post./orders`,
        );
      return httpTrigger(method as HttpMethod, second < 0 ? "" : rest.slice(second + 1));
    }
    case "ws":
      return ws(rest);
    case "cron": {
      const last = rest.lastIndexOf(".");
      return last < 0 ? cron(rest) : cron(rest.slice(0, last), rest.slice(last + 1));
    }
    case "herald":
      return herald(rest);
    case "nats":
    case "redis":
      return grouped(kind, key, rest);
    case "rabbitmq":
      return rabbitmq(rest);
    case "mqtt":
      return mqtt(rest);
    default:
      throw new TriggerKeyError(
        `${JSON.stringify(key)}: a key starts with http., ws., cron., herald., nats., redis., rabbitmq. or mqtt. (e.g. http.post./orders)`,
      );
  }
}

/** `/orders/:id` → a matcher giving `{ id }`, or undefined when the path does not match. */
export function pathMatcher(path: string): (pathname: string) => Record<string, string> | undefined {
  const names: string[] = [];
  const pattern = path
    .split("/")
    .map((segment) => {
      if (segment.startsWith(":")) {
        names.push(segment.slice(1));
        return "([^/]+)";
      }
      return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("/");
  const regex = new RegExp(`^${pattern}/?$`);
  return (pathname) => {
    const match = regex.exec(pathname);
    if (!match) return undefined;
    const params: Record<string, string> = {};
    names.forEach((name, i) => {
      params[name] = decodeURIComponent(match[i + 1]!);
    });
    return params;
  };
}

/** The names of a path's `:name` parameters. */
export function pathParameters(path: string): string[] {
  return path
    .split("/")
    .filter((s) => s.startsWith(":"))
    .map((s) => s.slice(1));
}
