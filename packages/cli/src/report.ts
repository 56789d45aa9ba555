// Turns any error into one clear message on stderr and an exit code.
import { CommanderError } from "commander";
import { type ApiProblem, HeraldApiError, TransportError, UnexpectedResponseError } from "@herald/sdk";
import { CliError, ExitCode } from "./errors.js";

/** The lines that explain a problem answer: status, title, detail, then each invalid field. */
export function formatProblem(problem: ApiProblem): string {
  const head = [`${problem.status}`, problem.title].filter(Boolean).join(" ");
  const lines = [problem.detail ? `${head}: ${problem.detail}` : head];
  for (const fieldError of fieldErrors(problem)) {
    lines.push(`  - ${fieldError.field}: ${fieldError.reason}`);
  }
  if (typeof problem.actualVersion === "number") lines.push(`  actual version: ${problem.actualVersion}`);
  return lines.join("\n");
}

export function reportError(error: unknown, write: (text: string) => void): ExitCode {
  if (error instanceof CommanderError) {
    // Commander printed its own message (help, version, or the usage error) already.
    return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  }
  if (error instanceof HeraldApiError) {
    write(`herald: the server rejected the request: ${formatProblem(error.problem)}\n`);
    return ExitCode.failure;
  }
  if (error instanceof TransportError) {
    write(
      `herald: ${connectionMessage(error)}\n  is \`herald serve\` running there? (set --url or HERALD_URL)\n`,
    );
    return ExitCode.connect;
  }
  if (error instanceof CliError) {
    write(`herald: ${error.message}\n`);
    return error.exitCode;
  }
  if (error instanceof UnexpectedResponseError) {
    write(`herald: unexpected answer from the server: ${error.message}\n`);
    return ExitCode.failure;
  }
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  write(`herald: unexpected error: ${detail}\n`);
  return ExitCode.failure;
}

/** "cannot reach <origin>: <why>" for a request that got no answer. */
export function connectionMessage(error: TransportError): string {
  const where = error.url === undefined ? "the server" : new URL(error.url).origin;
  const why = error.code === "TIMEOUT" ? "timed out waiting for an answer" : error.message;
  return `cannot reach ${where}: ${why}`;
}

/** Herald's field errors; a foreign problem's `errors` only when it has the same shape. */
function fieldErrors(problem: ApiProblem): readonly { field: string; reason: string }[] {
  const errors: unknown = problem.errors;
  if (!Array.isArray(errors)) return [];
  return errors.filter(
    (e): e is { field: string; reason: string } =>
      typeof e === "object" && e !== null && typeof e.field === "string" && typeof e.reason === "string",
  );
}
