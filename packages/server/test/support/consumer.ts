// Typed helpers for the pull API.
import assert from "node:assert/strict";
import { api } from "./harness.js";

export interface PulledMessage {
  ackId: string;
  deliveryCount: number;
  position: number;
  stream: string;
  event: Record<string, unknown> & { id: string; type: string; source: string };
}

export async function pull(base: string, id: string, max = 100, waitMs = 0): Promise<PulledMessage[]> {
  const res = await api(base, "POST", `/subscriptions/${id}/pull`, { max, waitMs });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return (res.body as { messages: PulledMessage[] }).messages;
}

export async function ack(base: string, id: string, messages: readonly PulledMessage[]): Promise<number> {
  const res = await api(base, "POST", `/subscriptions/${id}/ack`, { ackIds: messages.map((m) => m.ackId) });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return (res.body as { acked: number }).acked;
}

export async function createSubscription(base: string, body: Record<string, unknown>): Promise<void> {
  const res = await api(base, "POST", "/subscriptions", body);
  assert.equal(res.status, 201, JSON.stringify(res.body));
}
