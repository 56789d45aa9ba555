#!/usr/bin/env node
// The `herald` command. See docs/cli.md.
import { runCli } from "./run.js";

// `herald tail | head` closes our stdout early: that is a normal way to stop, not an error.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

const code = await runCli(process.argv);
process.exitCode = code;
// Anything still holding the event loop open (a keep-alive socket) must not keep us alive.
setTimeout(() => process.exit(code), 2000).unref();
