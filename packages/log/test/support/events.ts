// The test events the shipped contract suite builds (src/testing/events.ts), imported from the module
// rather than `@herald/log/testing` so the crash writer's child process does not load node:test.
export { sleep, type TestEventInit, testEvent } from "../../src/testing/events.js";
