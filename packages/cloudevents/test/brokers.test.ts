// The message bindings over real brokers with real clients: NATS (headers), MQTT 5 and 3.1.1 (Mosquitto),
// AMQP 1.0 (RabbitMQ's rabbitmq_amqp1_0 plugin, rhea) and WebSocket (ws). Each event goes out through the
// broker and comes back; the decoded event must equal the expected one attribute by attribute and byte by byte.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { type AddressInfo, createServer } from "node:net";
import { after, before, describe, it } from "node:test";
import {
  CloudEvent,
  CloudEventDecodeError,
  chooseWebSocketSubprotocol,
  decodeAmqp,
  decodeMqtt,
  decodeNats,
  decodeWebSocket,
  encodeAmqp,
  encodeMqtt3,
  encodeMqtt5,
  encodeNats,
  encodeWebSocket,
  WEBSOCKET_JSON_SUBPROTOCOL,
} from "@herald/cloudevents";
import { connect as natsConnect, headers as natsHeaders, type NatsConnection } from "@nats-io/transport-node";
import mqtt, { type IClientPublishOptions, type MqttClient } from "mqtt";
import rhea, { type Connection as AmqpConnection, type Message as AmqpClientMessage } from "rhea";
import { WebSocket, WebSocketServer } from "ws";
import { amqp10Available, serviceAvailable, skipUnlessService } from "./helpers/services.js";

const HOST = "127.0.0.1";
const RUN = randomUUID().slice(0, 8); // unique subjects / topics / routing keys per run
const TIMEOUT = { timeout: 5000 };

// ---------------------------------------------------------------------------------------------------------
// Events: every extension type, unicode everywhere text may go, binary and JSON data, no data.

const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);
const UNICODE = 'héllo wörld ✓ 日本語 🎉 "quoted" 100% a+b  two  spaces';
const base = {
  id: `évènement-${RUN}-✓`,
  source: "urn:herald:brokers:%C3%BCn%C3%AFcode",
  type: "com.example.brokers.round-trip",
  subject: UNICODE,
  time: "2026-11-25T10:00:00.123456789+01:00",
  dataschema: "https://example.com/schemas/%C3%A4.json",
} as const;
const extensions = {
  strext: UNICODE,
  emptyext: "",
  intext: 42,
  negext: -2147483648,
  maxext: 2147483647,
  zeroext: 0,
  trueext: true,
  falseext: false,
  binext: new Uint8Array([0, 1, 2, 255, 254]),
  uriext: "https://example.com/p?q=ä&r=1#frag",
  timeext: "1985-04-12T23:20:50.52Z",
} as const;

const bytesEvent = new CloudEvent({
  ...base,
  ...extensions,
  datacontenttype: "application/octet-stream",
  data: ALL_BYTES,
});
const jsonEvent = new CloudEvent({
  ...base,
  id: `json-${RUN}`,
  ...extensions,
  datacontenttype: "application/json; charset=utf-8",
  data: { message: UNICODE, n: 1.5, list: [1, "two", null, true], nested: { ключ: "值" } },
});
const textEvent = new CloudEvent({
  ...base,
  id: `text-${RUN}`,
  datacontenttype: "text/plain; charset=utf-8",
  data: `${UNICODE}\nline two\r\n`,
});
const noDataEvent = new CloudEvent({ ...base, id: `nodata-${RUN}`, ...extensions });
// JSON data without a datacontenttype: binary modes label it application/json (the JSON format's default).
const untypedEvent = new CloudEvent({ ...base, id: `untyped-${RUN}`, data: ["ü", 1, { a: null }] });
const EVENTS = [bytesEvent, jsonEvent, textEvent, noDataEvent, untypedEvent] as const;

// What each kind of mode can carry: the JSON format writes a Binary extension as its Base64 string; header-
// and property-based binary modes carry every extension as its canonical string (no type on the wire).
const STRUCTURED_EXTENSIONS = { binext: "AAEC//4=" };
const STRING_EXTENSIONS = {
  strext: UNICODE,
  emptyext: "",
  intext: "42",
  negext: "-2147483648",
  maxext: "2147483647",
  zeroext: "0",
  trueext: "true",
  falseext: "false",
  binext: "AAEC//4=",
  uriext: "https://example.com/p?q=ä&r=1#frag",
  timeext: "1985-04-12T23:20:50.52Z",
};

function withExtensions(e: CloudEvent, patch: Record<string, unknown>): CloudEvent {
  return e.extensionsRecord()["strext"] === undefined ? e : e.cloneWith(patch);
}
function labelledJson(e: CloudEvent): CloudEvent {
  return e.datacontenttype === undefined && "data" in e
    ? e.cloneWith({ datacontenttype: "application/json" })
    : e;
}
const asStructuredDelivers = (e: CloudEvent) => withExtensions(e, STRUCTURED_EXTENSIONS);
const asStringBinaryDelivers = (e: CloudEvent) => labelledJson(withExtensions(e, STRING_EXTENSIONS));
const asNativeBinaryDelivers = labelledJson; // AMQP: native int, boolean and binary survive

/** Same attribute names, same values (same types), and data equal byte by byte when it is bytes. */
function assertSameEvent(actual: CloudEvent, expected: CloudEvent, label: string): void {
  assert.ok(actual instanceof CloudEvent, `${label}: not a CloudEvent`);
  assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort(), `${label}: attribute names`);
  for (const name of Object.keys(expected)) {
    const want = expected[name];
    const got = actual[name];
    if (want instanceof Uint8Array) {
      assert.ok(got instanceof Uint8Array, `${label}: ${name} is not bytes`);
      assert.equal(got.constructor, Uint8Array, `${label}: ${name} should be a plain Uint8Array`);
      assert.equal(Buffer.compare(got, want), 0, `${label}: ${name} bytes differ`);
    } else {
      assert.deepEqual(got, want, `${label}: attribute ${name}`);
    }
  }
  assert.deepEqual(actual, expected, label);
}

/** Every sent event arrived, in order, as `expectedOf` says the mode delivers it. */
function assertAllDelivered(
  got: CloudEvent[],
  expectedOf: (e: CloudEvent) => CloudEvent,
  label: string,
): void {
  assert.equal(got.length, EVENTS.length, `${label}: event count`);
  for (const [i, sent] of EVENTS.entries()) assertSameEvent(got[i]!, expectedOf(sent), `${label} #${i}`);
}

/** Resolves with the first `count` values `push` receives, or rejects after `ms`. */
function collector<T>(count: number, ms = 4000): { push: (value: T) => void; done: Promise<T[]> } {
  const values: T[] = [];
  let settle!: (values: T[]) => void;
  let fail!: (err: Error) => void;
  const done = new Promise<T[]>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  const timer = setTimeout(() => fail(new Error(`received ${values.length} of ${count} messages`)), ms);
  return {
    push(value) {
      values.push(value);
      if (values.length === count) {
        clearTimeout(timer);
        settle(values);
      }
    },
    done,
  };
}

const toBuffer = (body: string | Uint8Array): Buffer =>
  typeof body === "string"
    ? Buffer.from(body, "utf8")
    : Buffer.from(body.buffer, body.byteOffset, body.byteLength);

// ---------------------------------------------------------------------------------------------------------
// NATS (headers need NATS 2.2+).

const natsSkip = await skipUnlessService("NATS", HOST, 4222);

describe("NATS binding over a real NATS server", { skip: natsSkip }, () => {
  let nc: NatsConnection;
  before(async () => {
    nc = await natsConnect({ servers: `${HOST}:4222`, name: `herald-brokers-${RUN}` });
  });
  after(async () => {
    await nc?.close();
  });

  async function roundTrip(
    subject: string,
    mode: "binary" | "structured",
    withHeaders: boolean,
  ): Promise<CloudEvent[]> {
    const got = collector<CloudEvent>(EVENTS.length);
    const sub = nc.subscribe(subject, {
      max: EVENTS.length,
      callback: (err, msg) => {
        if (err !== null) return;
        const headers: Record<string, string[]> = {};
        for (const [name, values] of msg.headers ?? []) headers[name] = values;
        got.push(decodeNats({ headers, data: msg.data }));
      },
    });
    await nc.flush(); // the subscription is known to the server before anything is published
    for (const event of EVENTS) {
      const message = encodeNats(event, mode, { withHeaders });
      let hdrs: ReturnType<typeof natsHeaders> | undefined;
      if (message.headers !== undefined) {
        hdrs = natsHeaders();
        for (const [name, value] of Object.entries(message.headers)) hdrs.set(name, value);
      }
      nc.publish(subject, message.data, hdrs === undefined ? undefined : { headers: hdrs });
    }
    await nc.flush();
    try {
      return await got.done;
    } finally {
      sub.unsubscribe();
    }
  }

  it(
    "binary mode: ce- headers survive the server (percent-encoded unicode, every extension type)",
    TIMEOUT,
    async () => {
      const got = await roundTrip(`herald.test.${RUN}.nats.binary`, "binary", false);
      assertAllDelivered(got, asStringBinaryDelivers, "binary");
    },
  );

  it("structured mode without headers (NATS < 2.2 style)", TIMEOUT, async () => {
    const got = await roundTrip(`herald.test.${RUN}.nats.structured`, "structured", false);
    assertAllDelivered(got, asStructuredDelivers, "structured");
  });

  it("structured mode with a Content-Type header", TIMEOUT, async () => {
    const got = await roundTrip(`herald.test.${RUN}.nats.structured-ct`, "structured", true);
    assertAllDelivered(got, asStructuredDelivers, "structured+ct");
  });
});

// ---------------------------------------------------------------------------------------------------------
// MQTT 5 and 3.1.1 (Mosquitto).

const mqttSkip = await skipUnlessService("Mosquitto", HOST, 1883);

interface MqttReceived {
  readonly payload: Buffer;
  readonly properties?: { contentType?: string; userProperties?: Record<string, string | string[]> };
}

describe("MQTT binding over Mosquitto", { skip: mqttSkip }, () => {
  const clients: MqttClient[] = [];
  after(async () => {
    await Promise.all(clients.map((c) => c.endAsync()));
  });

  async function roundTrip(
    protocolVersion: 4 | 5,
    topic: string,
    encode: (e: CloudEvent) => ReturnType<typeof encodeMqtt5>,
  ): Promise<CloudEvent[]> {
    const client = await mqtt.connectAsync(`mqtt://${HOST}:1883`, {
      protocolVersion,
      clientId: `herald-${RUN}-${protocolVersion}-${clients.length}`,
      clean: true,
      reconnectPeriod: 0,
    });
    clients.push(client);
    const got = collector<CloudEvent>(EVENTS.length);
    client.on("message", (t, payload, packet) => {
      if (t !== topic) return;
      const received: MqttReceived = { payload, properties: packet.properties ?? {} };
      got.push(decodeMqtt(received));
    });
    await client.subscribeAsync(topic, { qos: 1 });
    for (const event of EVENTS) {
      const message = encode(event);
      const options: IClientPublishOptions = { qos: 1 };
      if (message.properties !== undefined) options.properties = message.properties;
      await client.publishAsync(topic, toBuffer(message.payload), options);
    }
    return got.done;
  }

  it(
    "MQTT 5 binary mode: User Properties and Content Type (the application's own properties ignored)",
    TIMEOUT,
    async () => {
      const got = await roundTrip(5, `herald/test/${RUN}/mqtt5/binary`, (e) => {
        const message = encodeMqtt5(e, "binary");
        const userProperties = { ...message.properties?.userProperties, "X-App-Trace": "not an attribute" };
        return { ...message, properties: { ...message.properties, userProperties } };
      });
      assertAllDelivered(got, asStringBinaryDelivers, "mqtt5 binary");
    },
  );

  it("MQTT 5 structured mode", TIMEOUT, async () => {
    const got = await roundTrip(5, `herald/test/${RUN}/mqtt5/structured`, (e) =>
      encodeMqtt5(e, "structured"),
    );
    assertAllDelivered(got, asStructuredDelivers, "mqtt5 structured");
  });

  it("MQTT 3.1.1 structured mode (no properties on the wire)", TIMEOUT, async () => {
    const got = await roundTrip(4, `herald/test/${RUN}/mqtt3/structured`, encodeMqtt3);
    assertAllDelivered(got, asStructuredDelivers, "mqtt3 structured");
  });
});

// ---------------------------------------------------------------------------------------------------------
// AMQP 1.0 (RabbitMQ with the rabbitmq_amqp1_0 plugin; AMQP 1.0 shares port 5672 with 0-9-1).

const amqpSkip = await skipUnlessService("RabbitMQ AMQP 1.0", HOST, 5672, amqp10Available);

/** The bytes of a received body: a data section (what we send), or an amqp-value string. */
function amqpBodyBytes(body: unknown): Uint8Array | string | null {
  if (body === undefined || body === null) return null;
  if (typeof body === "string" || body instanceof Uint8Array) return body;
  const section = body as { typecode?: number; content?: unknown };
  if (section.typecode === 0x75 && section.content instanceof Uint8Array) return section.content;
  throw new Error(`unexpected AMQP body ${String(body)}`);
}

describe("AMQP 1.0 binding over RabbitMQ", { skip: amqpSkip }, () => {
  let connection: AmqpConnection;
  before(async () => {
    const container = rhea.create_container({ id: `herald-brokers-${RUN}` });
    connection = container.connect({
      host: HOST,
      port: 5672,
      username: "guest",
      password: "guest",
      reconnect: false,
    });
    await new Promise<void>((resolve, reject) => {
      connection.once("connection_open", () => resolve());
      connection.once("connection_error", (ctx) => reject(ctx.connection.error ?? new Error("AMQP error")));
      connection.once("disconnected", (ctx) =>
        reject(ctx.error ?? new Error("AMQP 1.0 refused: is rabbitmq_amqp1_0 enabled?")),
      );
    });
  });
  after(async () => {
    if (connection === undefined || !connection.is_open()) return;
    await new Promise<void>((resolve) => {
      connection.once("connection_close", () => resolve());
      connection.close();
    });
  });

  async function roundTrip(routingKey: string, mode: "binary" | "structured"): Promise<CloudEvent[]> {
    // RabbitMQ: a /topic/<key> receiver gets an exclusive auto-delete queue bound to amq.topic; a
    // /topic/<key> sender publishes to amq.topic with that routing key.
    const address = `/topic/${routingKey}`;
    const got = collector<CloudEvent>(EVENTS.length);
    const receiver = connection.open_receiver(address);
    receiver.on("message", (ctx) => {
      const m = ctx.message as AmqpClientMessage;
      got.push(
        decodeAmqp({
          contentType: m.content_type,
          applicationProperties: m.application_properties,
          body: amqpBodyBytes(m.body),
        }),
      );
    });
    await new Promise<void>((resolve) => receiver.once("receiver_open", () => resolve()));
    const sender = connection.open_sender(address);
    await new Promise<void>((resolve) => sender.once("sendable", () => resolve()));
    for (const event of EVENTS) {
      const message = encodeAmqp(event, mode);
      const out: AmqpClientMessage = {
        application_properties: message.applicationProperties,
        body: rhea.message.data_section(message.body === null ? Buffer.alloc(0) : toBuffer(message.body)),
      };
      if (message.contentType !== undefined) out.content_type = message.contentType;
      sender.send(out);
    }
    try {
      return await got.done;
    } finally {
      sender.close();
      receiver.close();
    }
  }

  it(
    "binary mode: cloudEvents_ application properties keep native int, boolean and binary",
    TIMEOUT,
    async () => {
      const got = await roundTrip(`herald.test.${RUN}.amqp.binary`, "binary");
      assertAllDelivered(got, asNativeBinaryDelivers, "amqp binary");
    },
  );

  it("structured mode", TIMEOUT, async () => {
    const got = await roundTrip(`herald.test.${RUN}.amqp.structured`, "structured");
    assertAllDelivered(got, asStructuredDelivers, "amqp structured");
  });
});

// ---------------------------------------------------------------------------------------------------------
// WebSocket: a real ws server and client on an ephemeral port.

describe("WebSocket binding over a real ws connection", () => {
  let server: WebSocketServer;
  let url: string;
  const serverReceived: Array<{ protocol: string; data: Buffer; isBinary: boolean }> = [];
  let onServerMessage: () => void = () => {};

  before(async () => {
    server = new WebSocketServer({
      host: HOST,
      port: 0,
      handleProtocols: (offered) => chooseWebSocketSubprotocol([...offered]) ?? false,
    });
    server.on("connection", (socket) => {
      socket.on("message", (data, isBinary) => {
        serverReceived.push({ protocol: socket.protocol, data: data as Buffer, isBinary });
        onServerMessage();
      });
      // The server sends every event back as the binding says: the JSON event in a text frame.
      if (socket.protocol === WEBSOCKET_JSON_SUBPROTOCOL) {
        for (const event of EVENTS) {
          const { data, binary } = encodeWebSocket(event);
          socket.send(data, { binary });
        }
      }
    });
    await new Promise<void>((resolve) => server.once("listening", () => resolve()));
    url = `ws://${HOST}:${(server.address() as AddressInfo).port}/`;
  });
  after(async () => {
    for (const client of server.clients) client.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  function open(protocols: string[]): Promise<WebSocket> {
    const ws = new WebSocket(url, protocols);
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(ws));
      ws.once("error", reject);
    });
  }

  function close(ws: WebSocket): Promise<void> {
    return new Promise((resolve) => {
      ws.once("close", () => resolve());
      ws.close();
    });
  }

  it(
    "negotiates cloudevents.json and the server's text frames decode to the sent events",
    TIMEOUT,
    async () => {
      const got = collector<{ data: Buffer; isBinary: boolean; protocol: string }>(EVENTS.length);
      const ws = new WebSocket(url, ["mqtt", WEBSOCKET_JSON_SUBPROTOCOL]);
      ws.on("message", (data, isBinary) =>
        got.push({ data: data as Buffer, isBinary, protocol: ws.protocol }),
      );
      try {
        const frames = await got.done;
        assert.equal(ws.protocol, WEBSOCKET_JSON_SUBPROTOCOL);
        frames.forEach((f, i) => {
          assert.equal(f.isBinary, false, "the binding sends text frames");
          assertSameEvent(
            decodeWebSocket(f.data.toString("utf8"), f.protocol),
            asStructuredDelivers(EVENTS[i]!),
            `ws text #${i}`,
          );
        });
      } finally {
        await close(ws);
      }
    },
  );

  it("the server decodes the client's text and binary frames", TIMEOUT, async () => {
    serverReceived.length = 0;
    const arrived = collector<void>(EVENTS.length * 2);
    onServerMessage = () => arrived.push(undefined);
    const ws = await open([WEBSOCKET_JSON_SUBPROTOCOL]);
    try {
      for (const event of EVENTS) {
        const { data } = encodeWebSocket(event);
        ws.send(data, { binary: false });
        ws.send(Buffer.from(data, "utf8"), { binary: true });
      }
      await arrived.done;
      serverReceived.forEach((frame, i) => {
        const expected = asStructuredDelivers(EVENTS[i >> 1]!);
        assert.equal(frame.isBinary, i % 2 === 1);
        assert.equal(frame.protocol, WEBSOCKET_JSON_SUBPROTOCOL);
        const data = frame.isBinary ? new Uint8Array(frame.data) : frame.data.toString("utf8");
        assertSameEvent(decodeWebSocket(data, frame.protocol), expected, `ws from client #${i}`);
      });
    } finally {
      onServerMessage = () => {};
      await close(ws);
    }
  });

  it("without a supported offer the server agrees on no subprotocol", TIMEOUT, async () => {
    const ws = new WebSocket(url, ["cloudevents.avro", "mqtt"]);
    const answered = new Promise<string | string[] | undefined>((resolve) =>
      ws.once("upgrade", (res) => resolve(res.headers["sec-websocket-protocol"])),
    );
    // ws (RFC 6455 §4.1) fails a handshake whose offer the server did not take up.
    const failed = new Promise<Error>((resolve) => ws.once("error", resolve));
    assert.equal(await answered, undefined, "no Sec-WebSocket-Protocol in the server's answer");
    assert.match((await failed).message, /no subprotocol/);
    assert.throws(
      () => decodeWebSocket(encodeWebSocket(jsonEvent).data, "cloudevents.avro"),
      (err: unknown) => err instanceof CloudEventDecodeError && err.reason === "unsupported-media-type",
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
// The probe itself: up, down, and the CI rule.

describe("service probe", () => {
  it("sees a listening port as up and a closed one as down; CI=true turns a skip into an error", async () => {
    // Answers like a 0-9-1-only broker once `answer` is set; otherwise reads until the probe hangs up.
    let answer: Buffer | undefined;
    const listener = createServer((socket) => {
      socket.resume(); // read to the end, so the server sees the probe hang up and can close
      if (answer !== undefined) socket.end(answer);
    });
    await new Promise<void>((resolve) => listener.listen(0, HOST, () => resolve()));
    const port = (listener.address() as AddressInfo).port;
    assert.equal(await serviceAvailable(HOST, port), true);
    assert.equal(await skipUnlessService("probe", HOST, port), false);
    // Something listening that does not answer the AMQP 1.0 header (here: answers 0-9-1's) is not AMQP 1.0.
    answer = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);
    assert.equal(await amqp10Available(HOST, port), false);
    await new Promise<void>((resolve) => listener.close(() => resolve()));
    assert.equal(await serviceAvailable(HOST, port), false);
    const saved = process.env["CI"];
    try {
      process.env["CI"] = "false";
      const reason = await skipUnlessService("probe", HOST, port);
      assert.match(String(reason), /probe is not reachable on 127\.0\.0\.1:\d+; skipped locally/);
      process.env["CI"] = "true";
      await assert.rejects(skipUnlessService("probe", HOST, port), /CI=true/);
    } finally {
      if (saved === undefined) delete process.env["CI"];
      else process.env["CI"] = saved;
    }
  });
});
