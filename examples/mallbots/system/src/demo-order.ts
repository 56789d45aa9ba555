// `npm run mallbots -- order`: a customer at a kiosk places an order, watches it move, and picks it up
// when it is ready; then the Herald console's views of that order's conversation.
import { Kiosk, type OrderStatus } from "./kiosk.js";

export interface DemoOrderOptions {
  readonly gatewayUrl: string;
  /** herald serve (its console is at /console). */
  readonly heraldUrl: string;
  readonly kioskKey: string;
  readonly customerId: string;
  /** `productId:quantity` each. */
  readonly items: readonly string[];
  /** Pick the order up as soon as it is ready. */
  readonly pickup: boolean;
  /** Give up after this long without reaching an end. */
  readonly timeoutMs?: number;
}

function parseItem(item: string) {
  const [productId = "", quantity = "1"] = item.split(":");
  const count = Number(quantity);
  if (productId === "" || !Number.isInteger(count) || count < 1)
    throw new RangeError(`--item must be productId:quantity, got ${item}`);
  return { productId, quantity: count };
}

/** Places the order and follows it; true when it ended picked up (or ready, without pickup). */
export async function placeDemoOrder(options: DemoOrderOptions): Promise<boolean> {
  const kiosk = new Kiosk(options.gatewayUrl, options.kioskKey);
  const placed = await kiosk.placeOrder({
    customerId: options.customerId,
    items: options.items.map(parseItem),
  });
  if (placed.status !== 201 && placed.status !== 200) {
    console.error(`the kiosk refused the order (${placed.status}): ${JSON.stringify(placed.body)}`);
    return false;
  }
  const { orderId, total } = placed.body;
  console.log(`order ${orderId} placed: ${(total / 100).toFixed(2)} for ${options.customerId}`);
  const deadline = Date.now() + (options.timeoutMs ?? 10 * 60_000);
  const say = (status: OrderStatus, reason?: string | null) =>
    console.log(`  ${new Date().toISOString().slice(11, 23)}  ${status}${reason ? ` (${reason})` : ""}`);
  // The kiosk's answer is the first status: a fast flow may be past it by the first look.
  let last: OrderStatus | undefined = placed.body.status;
  say(last);
  let pickedUp = false;
  let ended = false;
  while (!ended && Date.now() < deadline) {
    const { status, body } = await kiosk.order(orderId);
    if (status === 200 && body.status !== last) {
      last = body.status;
      say(last, body.reason);
    }
    if (last === "ready" && options.pickup && !pickedUp) {
      // Depot holds the order for pickup a moment after Orders says ready: a 422 is tried again.
      const pickup = await kiosk.pickup(orderId);
      pickedUp = pickup.status === 200;
      if (pickedUp) console.log("  the customer comes to the depot: pickup 200");
    }
    ended = last === "picked-up" || last === "cancelled" || (last === "ready" && !options.pickup);
    if (!ended) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // The first event of the order's correlation is its order-placed: the root of the lineage view.
  const correlation = (await (
    await fetch(`${options.heraldUrl}/correlations/${orderId}?limit=1`)
  ).json()) as {
    events: { position: number }[];
  };
  const root = correlation.events[0]?.position;
  const consoleUrl = `${options.heraldUrl}/console`;
  console.log(`
The order in the Herald console:
  its events        ${consoleUrl}#/events?filter=${encodeURIComponent(`subject = '${orderId}'`)}
  its conversation  ${consoleUrl}#/lineage?position=${root ?? "<position of order-placed>"}
  as JSON           curl -s ${options.heraldUrl}/correlations/${orderId}`);
  if (!ended) console.error(`order ${orderId} is still ${last ?? "unknown"}: gave up waiting`);
  return ended && last !== "cancelled";
}
