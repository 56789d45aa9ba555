// Typed events beyond the basics: errors on send and on receive, and versioned data with upcasters.
// docs/getting-started.md quotes the regions below.

// #region typed-send
import { CloudEvent } from "@herald/cloudevents";
import { defineEvent, EventDataValidationError, type HeraldClient, type Consumer, Router } from "@herald/sdk";
import { Type } from "@sinclair/typebox";
import { OrderPlaced } from "./app.js";

export function describeInvalidOrder(): string {
  try {
    OrderPlaced.create({
      // @ts-expect-error total must be a number: the compiler says so...
      data: { orderId: "o-1", total: "12" },
    });
    return "accepted";
  } catch (error) {
    // ...and so does the run-time check, naming every failing field (JSON pointer + message).
    if (error instanceof EventDataValidationError)
      return error.issues.map((i) => `${i.path} ${i.message}`).join("; ");
    throw error;
  }
}
// #endregion typed-send

// #region versioning
// Version 1 of this event carried { orderId, amountCents }; version 2 carries { orderId, total }.
// The version travels in the `dataversion` extension; consumers always see the current version.
export const PaymentReceived = defineEvent({
  type: "com.example.payment.received",
  version: 2,
  source: "/payments",
  schema: Type.Object({ orderId: Type.String(), total: Type.Number() }),
  upcasters: {
    1: (v1) => {
      const old = v1 as { orderId: string; amountCents: number };
      return { orderId: old.orderId, total: old.amountCents / 100 };
    },
  },
});
// #endregion versioning

// #region typed-receive
// Events whose data does not match are not retried: the dead-letter sink gets them with the reason.
export async function startPayments(
  client: HeraldClient,
  record: (orderId: string, total: number) => void,
  reject: (reason: string) => void,
): Promise<Consumer> {
  await client.ensureSubscription({ id: "payments", types: [PaymentReceived.type] });
  const router = new Router({ deadLetter: (letter) => reject(letter.error.message) }).on(
    PaymentReceived,
    (event) => record(event.data.orderId, event.data.total),
  );
  return client.subscribe("payments", router);
}
// #endregion typed-receive

/** What an old producer (or one not using the definitions) might publish. */
export function legacyPayments(): CloudEvent[] {
  return [
    new CloudEvent({
      source: "/legacy-payments",
      type: PaymentReceived.type,
      data: { orderId: "o-1", amountCents: 1250 },
    }),
    new CloudEvent({
      source: "/legacy-payments",
      type: PaymentReceived.type,
      dataversion: 2,
      data: { orderId: 7 },
    }),
  ];
}
