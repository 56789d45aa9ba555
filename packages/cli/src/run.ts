// Runs the CLI once: parse, execute, map any error to an exit code.
import { type ExitCode, ExitCode as Codes } from "./errors.js";
import { type Output, processOutput } from "./output.js";
import { createProgram, VERSION } from "./program.js";
import { reportError } from "./report.js";
import { printVersions, versionUrl } from "./version.js";

export async function runCli(argv: readonly string[], out: Output = processOutput): Promise<ExitCode> {
  let controller: AbortController | undefined;
  const stop = () => controller?.abort();
  // Only commands that stop gracefully ask for this; the others keep node's default (exit on Ctrl-C).
  const interruption = (): AbortSignal => {
    if (controller === undefined) {
      controller = new AbortController();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    }
    return controller.signal;
  };
  try {
    const url = versionUrl(argv.slice(2));
    if (url !== undefined) {
      await printVersions(VERSION, url, out);
      return Codes.ok;
    }
    await createProgram({ out, interruption }).parseAsync([...argv]);
    return Codes.ok;
  } catch (error) {
    return reportError(error, (text) => process.stderr.write(text));
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
}
