// The `herald` package: the CLI's building blocks, for embedding and tests. Its HTTP calls go through
// @herald/sdk's HeraldClient: use that for the API itself.
export { CliError, ExitCode, UsageError } from "./errors.js";
export { eventFromFlags, parseEventLine } from "./event-input.js";
export { createProgram, VERSION } from "./program.js";
export { runCli } from "./run.js";
