// AsyncAPI 3.0 from the asynchronous definitions (Herald subscriptions, cron) and the WebSocket ones.
// Each Herald event type is one message, written as the binding delivers it:
//   pull (JSON, SSE, WebSocket consumers): structured mode, `application/cloudevents+json`: the
//     payload is the CloudEvents envelope (specversion, id, source, type, …) with `data` the data schema;
//   push (HTTP sink, binary mode by default): the `ce-` headers carry the attributes and the payload
//     is `data` itself.
// WebSocket events are a `receive` operation with a `reply` (request/response over one socket).
// Transport sources (nats., rabbitmq., redis., mqtt.) are written as Herald's transports publish by
// default (binary mode, @herald/cloudevents bindings): NATS `ce-` headers (ce-datacontenttype
// included), AMQP `cloudEvents_` application properties (the binding's current prefix; `cloudEvents:`
// is also read) with the AMQP content-type, MQTT 5 unprefixed User Properties with the Content Type,
// Redis Streams entries whose fields are the NATS headers plus a `data` field holding the payload.
import { CRON_FIRED_TYPE, cronSource } from "../sources/cron.js";
import type { EventSourceDefinition } from "../definition.js";
import type { JsonSchema } from "../schema.js";
import { type DocumentInfo, plainJson } from "./openapi.js";

const CE_ATTRIBUTES = {
  specversion: { type: "string", const: "1.0" },
  id: { type: "string", minLength: 1 },
  source: { type: "string", format: "uri-reference", minLength: 1 },
  type: { type: "string", minLength: 1 },
  datacontenttype: { type: "string" },
  dataschema: { type: "string", format: "uri" },
  subject: { type: "string" },
  time: { type: "string", format: "date-time" },
};

/** The structured-mode envelope of events of `type` whose data follows `data`. */
export function structuredEnvelope(
  type: string | undefined,
  data: JsonSchema | undefined,
): Record<string, unknown> {
  return {
    type: "object",
    required: ["specversion", "id", "source", "type"],
    properties: {
      ...CE_ATTRIBUTES,
      ...(type === undefined ? {} : { type: { type: "string", const: type } }),
      data: data ?? {},
    },
    additionalProperties: { description: "CloudEvents extension attributes" },
  };
}

/** The binary-mode HTTP headers of events of `type`. */
export function binaryHeaders(type: string | undefined): Record<string, unknown> {
  const headers: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(CE_ATTRIBUTES)) {
    if (name === "datacontenttype") headers["content-type"] = { type: "string" };
    else
      headers[`ce-${name}`] =
        name === "type" && type !== undefined ? { type: "string", const: type } : schema;
  }
  return {
    type: "object",
    required: ["ce-specversion", "ce-id", "ce-source", "ce-type"],
    properties: headers,
  };
}

const TRANSPORT_SERVERS = {
  nats: { host: "localhost:4222", protocol: "nats", description: "NATS (JetStream)" },
  rabbitmq: { host: "localhost:5672", protocol: "amqp", description: "RabbitMQ (AMQP 0-9-1)" },
  redis: { host: "localhost:6379", protocol: "redis", description: "Redis Streams" },
  mqtt: { host: "localhost:1883", protocol: "mqtt", protocolVersion: "5", description: "MQTT 5 broker" },
} as const;

/** The binary-mode attributes of events of `type` as `<prefix><name>` properties. */
function prefixedAttributes(
  prefix: string,
  type: string | undefined,
  withContentType: boolean,
): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(CE_ATTRIBUTES)) {
    if (name === "datacontenttype" && !withContentType) continue;
    properties[`${prefix}${name}`] =
      name === "type" && type !== undefined ? { type: "string", const: type } : schema;
  }
  return {
    type: "object",
    required: ["specversion", "id", "source", "type"].map((n) => `${prefix}${n}`),
    properties,
    additionalProperties: { type: "string", description: "CloudEvents extension attributes" },
  };
}

/** One event type as a transport engine's binary-mode message. */
export function transportMessage(
  engine: keyof typeof TRANSPORT_SERVERS,
  type: string | undefined,
  data: JsonSchema | undefined,
): Record<string, unknown> {
  const name = type ?? "any";
  const payload = data ?? {};
  switch (engine) {
    case "nats":
      return {
        name,
        title: `${type ?? "any event"} (NATS binary mode)`,
        summary: "CloudEvents attributes as percent-encoded `ce-` NATS headers; the payload is `data`.",
        headers: prefixedAttributes("ce-", type, true),
        contentType: "application/json",
        payload,
      };
    case "rabbitmq":
      return {
        name,
        title: `${type ?? "any event"} (AMQP binary mode)`,
        summary:
          "CloudEvents attributes as `cloudEvents_` application properties (AMQP 0-9-1 headers); " +
          "datacontenttype is the AMQP content-type; the body is `data`.",
        headers: prefixedAttributes("cloudEvents_", type, false),
        contentType: "application/json",
        payload,
        bindings: { amqp: { bindingVersion: "0.3.0" } },
      };
    case "mqtt":
      return {
        name,
        title: `${type ?? "any event"} (MQTT 5 binary mode)`,
        summary:
          "CloudEvents attributes as unprefixed MQTT 5 User Properties; datacontenttype is the Content Type; " +
          "the payload is `data`.",
        headers: prefixedAttributes("", type, false),
        contentType: "application/json",
        payload,
        bindings: { mqtt: { contentType: "application/json", bindingVersion: "0.2.0" } },
      };
    case "redis": {
      const fields = prefixedAttributes("ce-", type, true);
      return {
        name,
        title: `${type ?? "any event"} (Redis Streams entry)`,
        summary:
          "A stream entry: the NATS binding's `ce-` headers as fields, then a `data` field holding the " +
          "encoded data (JSON text).",
        payload: {
          ...fields,
          required: [...(fields["required"] as string[]), "data"],
          properties: {
            ...(fields["properties"] as Record<string, unknown>),
            data: {
              type: "string",
              description: "the data, encoded as ce-datacontenttype says",
              "x-data": payload,
            },
          },
        },
      };
    }
  }
}

function messageId(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]/g, "_");
}

export function asyncApiDocument(
  definitions: readonly EventSourceDefinition[],
  options: DocumentInfo & { readonly heraldUrl?: string; readonly appUrl?: string },
): Record<string, unknown> {
  const channels: Record<string, Record<string, unknown>> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  const usedEngines = new Set<keyof typeof TRANSPORT_SERVERS>();
  const addChannel = (
    id: string,
    channel: Record<string, unknown>,
    message: { name: string; body: Record<string, unknown> },
  ) => {
    const existing = channels[id] ?? { ...channel, messages: {} };
    const msgId = messageId(message.name);
    messages[msgId] = message.body;
    (existing["messages"] as Record<string, unknown>)[msgId] = { $ref: `#/components/messages/${msgId}` };
    channels[id] = existing;
    return `#/channels/${id}/messages/${msgId}`;
  };

  for (const definition of definitions) {
    if (definition.kind === "herald") {
      const id = messageId(`herald.${definition.trigger.subscription}`);
      const push = definition.mode === "push";
      const types = definition.types ?? [undefined];
      const refs = types.map((type) =>
        addChannel(
          id,
          {
            address: definition.trigger.subscription,
            title: `Herald subscription ${definition.trigger.subscription}`,
            servers: [{ $ref: "#/servers/herald" }],
          },
          {
            name: `${type ?? "any"}.${push ? "binary" : "structured"}`,
            body: push
              ? {
                  name: type ?? "any",
                  title: `${type ?? "any event"} (HTTP binary mode)`,
                  headers: binaryHeaders(type),
                  contentType: "application/json",
                  payload: definition.data ?? {},
                }
              : {
                  name: type ?? "any",
                  title: `${type ?? "any event"} (structured mode)`,
                  contentType: "application/cloudevents+json",
                  payload: structuredEnvelope(type, definition.data),
                },
          },
        ),
      );
      operations[messageId(definition.key)] = {
        action: "receive",
        channel: { $ref: `#/channels/${id}` },
        ...(definition.summary ? { summary: definition.summary } : {}),
        description:
          definition.description ??
          `Handled by the app (${definition.mode}); unmatched types are ${definition.unmatched === "nack" ? "nacked" : "dead-lettered"}.`,
        messages: refs.map((ref) => ({ $ref: ref })),
      };
    } else if (definition.kind === "cron") {
      const id = messageId(definition.key);
      const ref = addChannel(
        id,
        {
          address: cronSource(definition.name),
          title: `cron ${definition.trigger.schedule} (${definition.trigger.timezone})`,
        },
        {
          name: `${definition.name}.fired`,
          body: {
            name: CRON_FIRED_TYPE,
            title: `${definition.name} firing`,
            contentType: "application/cloudevents+json",
            payload: structuredEnvelope(CRON_FIRED_TYPE, {
              type: "object",
              required: ["schedule", "timezone", "scheduledTime"],
              properties: {
                schedule: { type: "string", const: definition.trigger.schedule },
                timezone: { type: "string", const: definition.trigger.timezone },
                scheduledTime: { type: "string", format: "date-time" },
              },
            }),
          },
        },
      );
      operations[messageId(definition.key)] = {
        action: "receive",
        channel: { $ref: `#/channels/${id}` },
        summary:
          definition.summary ?? `Fires ${definition.trigger.schedule} in ${definition.trigger.timezone}`,
        messages: [{ $ref: ref }],
      };
    } else if (definition.kind === "transport") {
      const { engine, topic, group } = definition.trigger;
      usedEngines.add(engine);
      const id = messageId(definition.key);
      const types = definition.types ?? [undefined];
      const refs = types.map((type) =>
        addChannel(
          id,
          {
            address: topic,
            title: `${engine} ${topic}`,
            servers: [{ $ref: `#/servers/${engine}` }],
          },
          {
            name: `${engine}.${topic}.${type ?? "any"}`,
            body: transportMessage(engine, type, definition.data),
          },
        ),
      );
      const grouping = engine === "nats" || engine === "redis" ? ` in consumer group ${group}` : "";
      operations[messageId(definition.key)] = {
        action: "receive",
        channel: { $ref: `#/channels/${id}` },
        ...(definition.summary ? { summary: definition.summary } : {}),
        description:
          definition.description ??
          `Handled by the app${grouping}; unmatched types are ${definition.unmatched === "nack" ? "nacked" : "dead-lettered"}.`,
        messages: refs.map((ref) => ({ $ref: ref })),
      };
    } else if (definition.kind === "ws") {
      const id = messageId(definition.key);
      const inRef = addChannel(
        id,
        { address: definition.trigger.path, servers: [{ $ref: "#/servers/app" }] },
        {
          name: `${definition.key}.message`,
          body: {
            contentType: "application/json",
            payload: {
              type: "object",
              required: ["data"],
              properties: { id: {}, data: definition.input ?? {} },
            },
          },
        },
      );
      const replyRef = addChannel(
        id,
        {},
        {
          name: `${definition.key}.reply`,
          body: {
            contentType: "application/json",
            payload: {
              type: "object",
              description:
                "The reply to the message of the same id. A streamed reply is several frames with that " +
                "id, each with `data`, then one with `done: true` (or one with `problem`).",
              properties: {
                id: {},
                data: definition.output ?? {},
                problem: { type: "object", description: "problem+json with a catalog code" },
                done: { const: true, description: "a streamed reply has ended" },
              },
            },
          },
        },
      );
      operations[messageId(definition.key)] = {
        action: "receive",
        channel: { $ref: `#/channels/${id}` },
        ...(definition.summary ? { summary: definition.summary } : {}),
        messages: [{ $ref: inRef }],
        reply: { channel: { $ref: `#/channels/${id}` }, messages: [{ $ref: replyRef }] },
      };
    }
  }
  const heraldUrl = new URL(options.heraldUrl ?? "http://localhost:8080");
  const appUrl = new URL(options.appUrl ?? "http://localhost:3000");
  return plainJson({
    asyncapi: "3.0.0",
    info: {
      title: options.title,
      version: options.version,
      ...(options.description ? { description: options.description } : {}),
    },
    servers: {
      herald: {
        host: heraldUrl.host,
        protocol: heraldUrl.protocol.replace(":", ""),
        description: "Herald broker",
      },
      app: {
        host: appUrl.host,
        protocol: appUrl.protocol === "https:" ? "wss" : "ws",
        description: "this app",
      },
      ...Object.fromEntries([...usedEngines].map((engine) => [engine, TRANSPORT_SERVERS[engine]])),
    },
    channels,
    operations,
    components: { messages },
  });
}
