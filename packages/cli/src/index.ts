// The `herald` package: the CLI's building blocks, for embedding and tests.
export {
  type AppendResult,
  type DeadLetter,
  ConnectionError,
  HeraldApi,
  type JsonEvent,
  type LogEntry,
  type Problem,
  ProblemError,
  ProtocolError,
  type PulledMessage,
  type ReadPage,
  type Subscription,
} from "./api-client.js";
export { CliError, ExitCode, UsageError } from "./errors.js";
export { eventFromFlags, parseEventLine } from "./event-input.js";
export { createProgram, VERSION } from "./program.js";
export { runCli } from "./run.js";
