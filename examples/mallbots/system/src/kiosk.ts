// A customer's view of MallBots: the gateway's kiosk REST API. The launcher's demo order and the
// end-to-end tests both speak through it. The bodies are the contracts' (the gateway declares the same).
import type { OrderView, PlacedOrder, PlaceOrderRequest } from "@mallbots/contracts";

export type { OrderStatus, OrderView } from "@mallbots/contracts";

export interface Answer<T = unknown> {
  readonly status: number;
  readonly body: T;
}

export class Kiosk {
  readonly #url: string;
  readonly #key: string;

  constructor(gatewayUrl: string, key: string) {
    this.#url = gatewayUrl.replace(/\/$/, "");
    this.#key = key;
  }

  async call<T = unknown>(method: string, path: string, body?: unknown): Promise<Answer<T>> {
    const headers: Record<string, string> = { "x-api-key": this.#key, accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(`${this.#url}${path}`, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text === "" ? undefined : JSON.parse(text);
    } catch {
      // Not JSON (an HTML page, a proxy's error): keep the text.
    }
    return { status: response.status, body: parsed as T };
  }

  placeOrder(order: PlaceOrderRequest): Promise<Answer<PlacedOrder>> {
    return this.call("POST", "/orders", order);
  }

  order(orderId: string): Promise<Answer<OrderView>> {
    return this.call("GET", `/orders/${encodeURIComponent(orderId)}`);
  }

  pickup(orderId: string): Promise<Answer<{ orderId: string; taskId: string }>> {
    return this.call("POST", `/orders/${encodeURIComponent(orderId)}/pickup`);
  }
}
