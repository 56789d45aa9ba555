// `@herald/sdk/testing`: the contract suite every Inbox implementation passes. Test library code: it
// imports node:test, node:assert and fast-check (an optional peer dependency), so load it from tests only.
export { type InboxFactory, type InboxFeatures, inboxContract, type OpenedInbox } from "./inbox-contract.js";
export {
  type RestartableEngine,
  type StoredDeadLetter,
  type TransportFactory,
  type TransportFeatures,
  transportContract,
} from "./transport-contract.js";
export { type SigkillOptions, sigkillUnderLoad } from "./sigkill.js";
export { EngineProcess, type EngineProcessOptions, freePort } from "./engine.js";
