// Turns any error into one clear message on stderr and an exit code.
import { CommanderError } from "commander";
import { ConnectionError, type Problem, ProblemError, ProtocolError } from "./api-client.js";
import { CliError, ExitCode } from "./errors.js";

/** The lines that explain a problem answer: status, title, detail, then each invalid field. */
export function formatProblem(problem: Problem): string {
  const head = [`${problem.status}`, problem.title].filter(Boolean).join(" ");
  const lines = [problem.detail ? `${head}: ${problem.detail}` : head];
  for (const fieldError of problem.errors ?? []) {
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
  if (error instanceof ProblemError) {
    write(`herald: the server rejected the request: ${formatProblem(error.problem)}\n`);
    return ExitCode.failure;
  }
  if (error instanceof ConnectionError) {
    write(`herald: ${error.message}\n  is \`herald serve\` running there? (set --url or HERALD_URL)\n`);
    return ExitCode.connect;
  }
  if (error instanceof CliError) {
    write(`herald: ${error.message}\n`);
    return error.exitCode;
  }
  if (error instanceof ProtocolError) {
    write(`herald: unexpected answer from the server: ${error.message}\n`);
    return ExitCode.failure;
  }
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  write(`herald: unexpected error: ${detail}\n`);
  return ExitCode.failure;
}
