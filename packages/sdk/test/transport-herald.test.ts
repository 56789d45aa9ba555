// The transport contract against `herald serve` (in-process, memory log): the broker's own pull
// subscriptions are the consumer groups, its ordering, backoff and dead letters the engine's.
import { after } from "node:test";
import { decodeJsonEventObject } from "@herald/cloudevents";
import { HERALD_TOPIC_ATTRIBUTE, HeraldClient, HeraldTransport, heraldSubscriptionId } from "@herald/sdk";
import { transportContract } from "@herald/sdk/testing";
import { startHerald } from "./support/herald.js";

const herald = await startHerald();
after(() => herald.close());

transportContract(
  "herald",
  {
    connect: async () => new HeraldTransport(new HeraldClient({ url: herald.url }), { waitMs: 200 }),
    deadLetters: async (transport, topic, group) => {
      const { client } = transport as HeraldTransport;
      const page = await client.deadLetters(heraldSubscriptionId(topic, group));
      return page.deadLetters.map((d) => ({
        event: decodeJsonEventObject(d.event).cloneWith({ [HERALD_TOPIC_ATTRIBUTE]: undefined }),
        reason: d.reason,
        attempts: d.attempts,
        lastError: d.lastError,
      }));
    },
  },
  {
    keyOrdering: true,
    nackDelay: true,
    deadLetter: true,
    contentModes: false,
    ackTimeout: true,
    newGroupsGetHistory: true,
    reconnect: false, // HTTP keeps no connection to resume; the suite starts no `herald serve` of its own
  },
);
