// Payments against a real herald serve, in both flows: the trigger events or commands go in through
// the SDK client, the answers are read back from the log.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import type { CloudEvent } from "@herald/cloudevents";
import { HeraldClient, type JsonEventObject } from "@herald/sdk";
import { type HeraldServer, startServer } from "@herald/server";
import {
  AuthorizePayment,
  CapturePayment,
  DEMO_KEYS,
  FLOWS,
  type Flow,
  type MallbotsConfig,
  OrderCancelled,
  OrderPickedUp,
  OrderPlaced,
  PaymentAuthorized,
  PaymentCaptured,
  PaymentReceived,
  PaymentRefused,
  PaymentReleased,
  ReleasePayment,
  type RunningService,
  SOURCES,
  SUBSCRIPTIONS,
} from "@mallbots/contracts";
import Database from "better-sqlite3";
import { type Payment, startPayments } from "../src/index.js";
import { call, eventsFrom, tempDir, testConfig, waitFor } from "./support.js";

const KEY = `herald.${SUBSCRIPTIONS.payments}`;
const LIMIT = 50_000;

/** The event that asks Payments to do something, as each flow sends it. */
function trigger(flow: Flow) {
  const about = (orderId: string) => ({ subject: orderId, correlationid: orderId });
  return flow === "orchestrated"
    ? {
        authorize: (orderId: string, customerId: string, amount: number) =>
          AuthorizePayment.create({ ...about(orderId), data: { orderId, customerId, amount } }),
        release: (orderId: string) => ReleasePayment.create({ ...about(orderId), data: { orderId } }),
        capture: (orderId: string) => CapturePayment.create({ ...about(orderId), data: { orderId } }),
      }
    : {
        authorize: (orderId: string, customerId: string, amount: number) =>
          OrderPlaced.create({
            ...about(orderId),
            data: {
              orderId,
              customerId,
              items: [
                {
                  productId: "prod-tea",
                  storeId: "store-greengrocer",
                  name: "Green tea",
                  price: amount,
                  quantity: 1,
                },
              ],
              total: amount,
            },
          }),
        release: (orderId: string) =>
          OrderCancelled.create({ ...about(orderId), data: { orderId, reason: "customer left" } }),
        capture: (orderId: string) => OrderPickedUp.create({ ...about(orderId), data: { orderId } }),
      };
}

for (const flow of FLOWS) {
  describe(`payments (${flow})`, () => {
    let server: HeraldServer;
    let client: HeraldClient;
    let dir: ReturnType<typeof tempDir>;
    let payments: RunningService;
    let config: MallbotsConfig;
    const ask = trigger(flow);
    let n = 0;
    const newOrder = () => `order-${flow}-${++n}`;

    before(async () => {
      server = await startServer({ memory: true, port: 0, logLevel: "silent" });
      client = new HeraldClient({ url: server.url });
      dir = tempDir();
      config = testConfig(server.url, dir.path, {
        MALLBOTS_FLOW: flow,
        MALLBOTS_PAYMENT_LIMIT: String(LIMIT),
      });
      payments = await startPayments(config);
    });
    after(async () => {
      await payments?.stop();
      await client?.close();
      await server?.close();
      dir?.remove();
    });

    const send = async (event: CloudEvent) => assert.equal((await client.send(event)).ok, true);
    const answersAbout = async (orderId: string) =>
      (await eventsFrom(client, SOURCES.payments)).filter((e) => e.subject === orderId);
    /** Waits for `count` answers about the order, then answers them (and checks nothing else came). */
    async function answers(orderId: string, count: number): Promise<JsonEventObject[]> {
      await waitFor(
        async () => (await answersAbout(orderId)).length >= count,
        `${count} answers about ${orderId}`,
      );
      const all = await answersAbout(orderId);
      assert.equal(all.length, count, `answers about ${orderId}: ${all.map((e) => e.type).join(", ")}`);
      return all;
    }
    const details = (paymentId: string) => call(`${payments.url}/payments/${paymentId}`, DEMO_KEYS.internal);
    const outboxRows = (where = "") => {
      const db = new Database(`${dir.path}/payments/payments.db`, { readonly: true });
      try {
        return (db.prepare(`SELECT count(*) AS n FROM herald_outbox ${where}`).get() as { n: number }).n;
      } finally {
        db.close();
      }
    };
    const caughtUp = async () => {
      const stats = await client.subscriptionStats(SUBSCRIPTIONS.payments);
      return stats.lag === 0 && stats.inFlight === 0 && outboxRows("WHERE sent_at IS NULL") === 0;
    };

    it("authorizes, and refuses an amount over the limit and a broke- customer", async () => {
      const [ok, tooMuch, broke] = [newOrder(), newOrder(), newOrder()];
      const command = ask.authorize(ok, "alice", 1_250);
      await send(command);
      await send(ask.authorize(tooMuch, "alice", LIMIT + 1));
      await send(ask.authorize(broke, "broke-bob", 100));

      const [authorized] = await answers(ok, 1);
      assert.equal(authorized!.type, PaymentAuthorized.type);
      const { paymentId, ...rest } = authorized!.data as { paymentId: string };
      assert.deepEqual(rest, { orderId: ok, amount: 1_250 });
      // The same conversation as the cause, caused by it.
      assert.equal(authorized!["correlationid"], ok);
      assert.equal(authorized!["causationid"], command.id);

      const [overLimit] = await answers(tooMuch, 1);
      assert.equal(overLimit!.type, PaymentRefused.type);
      assert.deepEqual(overLimit!.data, {
        orderId: tooMuch,
        reason: `amount ${LIMIT + 1} is over the limit of ${LIMIT}`,
      });
      const [noFunds] = await answers(broke, 1);
      assert.deepEqual(
        [noFunds!.type, noFunds!.data],
        [PaymentRefused.type, { orderId: broke, reason: "insufficient funds" }],
      );

      const payment = await details(paymentId);
      assert.equal(payment.status, 200);
      assert.deepEqual(
        { ...(payment.body as Payment), authorizedAt: "" },
        {
          paymentId,
          orderId: ok,
          customerId: "alice",
          amount: 1_250,
          status: "authorized",
          authorizedAt: "",
        },
      );
      const refused = await call(`${payments.url}/payments?orderId=${tooMuch}`, DEMO_KEYS.internal);
      assert.deepEqual(refused.body, [], "a refusal keeps no payment");
    });

    it("releases an authorization, and answers a release of an order that has none", async () => {
      const [held, none] = [newOrder(), newOrder()];
      await send(ask.authorize(held, "carol", 900));
      const [authorized] = await answers(held, 1);
      const { paymentId } = authorized!.data as { paymentId: string };
      await send(ask.release(held));
      await send(ask.release(none));

      const [, released] = await answers(held, 2);
      assert.deepEqual(
        [released!.type, released!.data],
        [PaymentReleased.type, { orderId: held, paymentId }],
      );
      const [nothing] = await answers(none, 1);
      assert.deepEqual([nothing!.type, nothing!.data], [PaymentReleased.type, { orderId: none }]);
      const payment = (await details(paymentId)).body as Payment;
      assert.equal(payment.status, "released");
      assert.ok(payment.releasedAt! >= payment.authorizedAt);
    });

    it("captures: payment-captured, and payment-received with the payment id only; details by query", async () => {
      const order = newOrder();
      await send(ask.authorize(order, "dave", 4_200));
      const [authorized] = await answers(order, 1);
      const { paymentId } = authorized!.data as { paymentId: string };
      await send(ask.capture(order));

      const [, captured, received] = await answers(order, 3);
      assert.deepEqual(
        [captured!.type, captured!.data],
        [PaymentCaptured.type, { orderId: order, paymentId, amount: 4_200 }],
      );
      assert.deepEqual([received!.type, received!.data], [PaymentReceived.type, { paymentId }]);
      assert.equal(received!["correlationid"], order);

      const byOrder = await call(`${payments.url}/payments?orderId=${order}`, DEMO_KEYS.internal);
      assert.equal(byOrder.status, 200);
      const [payment] = byOrder.body as Payment[];
      assert.deepEqual(
        [payment!.paymentId, payment!.status, payment!.amount],
        [paymentId, "captured", 4_200],
      );
      assert.ok(payment!.capturedAt! >= payment!.authorizedAt);
      const unknown = await details("pay-nope");
      assert.deepEqual([unknown.status, (unknown.body as { code: string }).code], [404, "route-not-found"]);
      assert.equal((await details(paymentId)).status, 200);
      assert.equal((await call(`${payments.url}/payments/${paymentId}`, DEMO_KEYS.admin)).status, 401);
    });

    it("authorizes once: a duplicated command (another id), then every event redelivered", async () => {
      const order = newOrder();
      const first = ask.authorize(order, "erin", 700);
      const again = ask.authorize(order, "erin", 700);
      assert.notEqual(first.id, again.id);
      const handled = payments.app.outcomes.get(KEY, "handled");
      await send(first);
      await send(again);
      await waitFor(() => payments.app.outcomes.get(KEY, "handled") >= handled + 2, "both commands handled");
      // Both handlings answered (one outbox row each), with one id: the log holds one authorization.
      const [authorized] = await answers(order, 1);
      assert.equal(authorized!.type, PaymentAuthorized.type);
      const { paymentId } = authorized!.data as { paymentId: string };
      assert.deepEqual(
        ((await call(`${payments.url}/payments?orderId=${order}`, DEMO_KEYS.internal)).body as Payment[]).map(
          (p) => p.paymentId,
        ),
        [paymentId],
      );

      // Redeliver the whole subscription: the inbox skips every event, nothing new is written.
      await waitFor(
        async () => (await client.subscriptionStats(SUBSCRIPTIONS.payments)).lag === 0,
        "caught up",
      );
      const rows = outboxRows();
      const before = payments.app.outcomes.get(KEY, "handled");
      const { redeliver } = await client.resetSubscription(SUBSCRIPTIONS.payments, { to: "beginning" });
      assert.ok(redeliver >= 2);
      await waitFor(
        () => payments.app.outcomes.get(KEY, "handled") >= before + redeliver,
        "every event redelivered",
      );
      assert.equal(outboxRows(), rows, "a redelivered event was handled again");
      assert.equal((await answersAbout(order)).length, 1);
    });

    it("dead-letters a capture of a released payment and a trigger from the wrong source; obeys neither", async () => {
      const released = newOrder();
      await send(ask.authorize(released, "frank", 300));
      await send(ask.release(released));
      await answers(released, 2);
      await send(ask.capture(released));
      const forged = newOrder();
      const impostor = ask.authorize(forged, "mallory", 100).cloneWith({ source: SOURCES.gateway });
      await send(impostor);

      await waitFor(
        async () => (await client.deadLetters(SUBSCRIPTIONS.payments)).deadLetters.length >= 2,
        "two dead letters",
      );
      const dead = (await client.deadLetters(SUBSCRIPTIONS.payments)).deadLetters;
      assert.deepEqual(dead.map((d) => d.event.subject).sort(), [released, forged].sort());
      assert.equal(payments.app.outcomes.get(KEY, "refused") >= 1, true);
      assert.equal((await answersAbout(released)).length, 2, "no capture was answered");
      assert.deepEqual(await answersAbout(forged), []);
      const [payment] = (await call(`${payments.url}/payments?orderId=${released}`, DEMO_KEYS.internal))
        .body as Payment[];
      assert.equal(payment!.status, "released");
    });

    it("lost its database: replaying the whole subscription answers the same events, nothing new", async () => {
      await waitFor(caughtUp, "caught up");
      const ids = async () => (await eventsFrom(client, SOURCES.payments)).map((e) => e.id);
      const published = await ids();
      assert.ok(published.length >= 10);
      await payments.stop();
      rmSync(`${dir.path}/payments`, { recursive: true });
      payments = await startPayments(config);
      const { redeliver } = await client.resetSubscription(SUBSCRIPTIONS.payments, { to: "beginning" });
      await waitFor(
        async () => payments.app.outcomes.get(KEY, "handled") >= redeliver - 2 && (await caughtUp()),
        "the replay handled (all but the two dead letters) and published",
      );
      assert.ok(outboxRows() >= published.length, "the replay answered every order again");
      assert.deepEqual(await ids(), published);
    });
  });
}
