// `@herald/log/testing`: the EventLog contract suite for backend packages, and the test events it
// builds. Test library code: it imports node:test and node:assert, so load it from tests only.
export {
  type EventLogFactory,
  type EventLogFeatures,
  eventLogContract,
  type OpenedLog,
} from "./event-log-contract.js";
export { sleep, type TestEventInit, testEvent } from "./events.js";
