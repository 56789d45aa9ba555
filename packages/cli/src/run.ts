// Runs the CLI once: parse, execute, map any error to an exit code.
import { type ExitCode, ExitCode as Codes } from "./errors.js";
import { type Output, processOutput } from "./output.js";
import { createProgram } from "./program.js";
import { reportError } from "./report.js";

export async function runCli(argv: readonly string[], out: Output = processOutput): Promise<ExitCode> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    await createProgram({ out, signal: controller.signal }).parseAsync([...argv]);
    return Codes.ok;
  } catch (error) {
    return reportError(error, (text) => process.stderr.write(text));
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
}
