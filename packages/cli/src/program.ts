// The command tree: flags, help texts, and the wiring from flags to each command.
import type { ReadDirection } from "@herald/protocol";
import { Command, Option } from "commander";
import {
  type CreateSubscriptionOptions,
  listDeadLetters,
  listSubscriptions,
  type RedriveOptions,
  redriveDeadLetters,
  resetSubscription,
  createSubscription,
  deleteSubscription,
  showSubscription,
  subscriptionStats,
} from "./commands/subs.js";
import { type PublishOptions, publish } from "./commands/publish.js";
import { type ReplayOptions, replay } from "./commands/replay.js";
import { type AppDocsOptions, type AppRunOptions, appDocs, appRun } from "./commands/app.js";
import { addServeOptions, type ServeFlags, serve, untilSignal } from "./commands/serve.js";
import { readStream } from "./commands/read.js";
import { deleteStream, type ListStreamsOptions, listStreams } from "./commands/streams.js";
import { tail } from "./commands/tail.js";
import { encodeForSink } from "./encode.js";
import type { OutputFormat } from "./format.js";
import type { Output } from "./output.js";
import {
  addConnectionOptions,
  addProgressOptions,
  clientFrom,
  collect,
  type ConnectionFlags,
  httpUrl,
  integer,
  progressMode,
  timestamp,
} from "./options.js";

export const VERSION = "0.1.0";

// What commander hands each action (named after the flags; defaults applied, parsers run).
interface JsonFlag {
  readonly json?: boolean;
}
interface TailFlags extends JsonFlag {
  readonly from: string;
  readonly filter?: string;
  readonly sub?: string;
  readonly stream?: string;
  readonly retry: boolean;
  readonly output: OutputFormat;
  readonly count?: number;
  readonly follow: boolean;
  readonly interval: number;
  readonly limit: number;
  readonly wait: number;
  readonly ack: boolean;
  readonly system?: boolean;
}
interface ReadFlags extends JsonFlag {
  readonly from?: number;
  readonly limit?: number;
  readonly direction: ReadDirection;
  readonly output: OutputFormat;
  readonly pageSize: number;
}
interface ReplayFlags extends Omit<ReplayOptions, "continueOnError" | "dryRun" | "progress"> {
  readonly continueOnError?: boolean;
  readonly dryRun?: boolean;
  readonly progress?: boolean;
}

export interface ProgramContext {
  readonly out: Output;
  /** For commands that stop gracefully (tail, replay): aborted on SIGINT/SIGTERM once asked for. */
  readonly interruption: () => AbortSignal;
}

export function createProgram(context: ProgramContext): Command {
  const { out, interruption } = context;
  const program = new Command("herald")
    .description("Herald: the CloudEvents event backbone")
    .version(VERSION)
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)")
    .configureHelp({ sortSubcommands: false, showGlobalOptions: false });

  addServeOptions(
    program.command("serve").description("start the Herald server (SQLite under ./data by default)"),
  ).action(async (flags: ServeFlags) => {
    await serve(flags, out);
  });

  const app = program
    .command("app")
    .description("run an event-sources app defined in YAML, or print its OpenAPI/AsyncAPI document");
  addConnectionOptions(
    app
      .command("run")
      .description("run the YAML event definitions under <dir> until SIGINT/SIGTERM")
      .argument("<dir>")
      .option("--host <host>", "address of the app's HTTP/WebSocket server", "127.0.0.1")
      .option(
        "--port <port>",
        "port of the app's HTTP/WebSocket server (0: any free port)",
        integer(0, 65535),
        3000,
      )
      .option("--title <title>", "title of the generated documents", "Herald service")
      .option("--app-version <version>", "version of the generated documents", "0.0.0")
      .addOption(
        new Option("--transport <transport>", "how Herald subscription sources pull").choices([
          "auto",
          "poll",
          "sse",
          "ws",
        ]),
      )
      .option("--nats <servers>", "NATS servers for nats.* sources, e.g. 127.0.0.1:4222")
      .option("--amqp <url>", "RabbitMQ URL for rabbitmq.* sources, e.g. amqp://guest:guest@127.0.0.1:5672")
      .option("--redis <url>", "Redis URL for redis.* sources, e.g. redis://127.0.0.1:6379")
      .option("--mqtt <url>", "MQTT 5 broker URL for mqtt.* sources, e.g. mqtt://127.0.0.1:1883"),
  ).action(
    async (
      dir: string,
      flags: ConnectionFlags & Omit<AppRunOptions, "version"> & { readonly appVersion: string },
    ) => {
      const stopped = untilSignal((signal) => out.message(`herald app: ${signal} received, stopping`));
      await appRun(dir, clientFrom(flags), { ...flags, version: flags.appVersion }, out, stopped);
    },
  );
  app
    .command("docs")
    .description("print the OpenAPI 3.1 (HTTP events) or AsyncAPI 3.0 (asynchronous events) document")
    .argument("<dir>")
    .addOption(
      new Option("--format <format>", "which document").choices(["openapi", "asyncapi"]).default("openapi"),
    )
    .option("--title <title>", "title of the document", "Herald service")
    .option("--app-version <version>", "version of the document", "0.0.0")
    .addOption(
      new Option("--url <url>", "the Herald server named in the AsyncAPI servers")
        .env("HERALD_URL")
        .default("http://127.0.0.1:8080")
        .argParser(httpUrl),
    )
    .action(async (dir: string, flags: Omit<AppDocsOptions, "version"> & { readonly appVersion: string }) => {
      await appDocs(dir, { ...flags, version: flags.appVersion }, out);
    });

  addProgressOptions(
    addConnectionOptions(
      program
        .command("publish")
        .description(
          "publish one event from flags, or JSON lines (one event each) from --file or stdin (--file -)",
        )
        .option("--type <type>", "event type (required without --file)")
        .option("--source <uri>", "event source (required without --file)")
        .option("--id <id>", "event id (default: a random UUID)")
        .option("--subject <subject>", "event subject")
        .option("--time <time>", "event time, RFC 3339 (default: now)")
        .option("--dataschema <uri>", "URI of the data's schema")
        .option("--datacontenttype <type>", "content type of the data (default application/json)")
        .option("--data <json>", "event data: JSON unless --datacontenttype says otherwise")
        .option("--data-file <file>", "read the event data from a file")
        .option("--ext <name=value>", "extension attribute (repeatable)", collect)
        .option("--file <path>", "JSON-lines file of events, or - for stdin")
        .option("--stream <name>", "append to this stream (POST /streams/{name})")
        .option("--expected-version <v>", "with --stream: any, no-stream, exists or a version number")
        .option("--batch-size <n>", "events per request with --file", integer(1, 100_000), 500)
        .option("--json", "print each result as a JSON line"),
    ),
  ).action(async (flags: ConnectionFlags & Omit<PublishOptions, "progress"> & { progress?: boolean }) => {
    await publish(clientFrom(flags), { ...flags, progress: progressMode(flags.progress) }, out);
  });

  addConnectionOptions(
    program
      .command("tail")
      .description("follow the log (optionally filtered with CESQL) or a subscription, and print events")
      .option("--filter <cesql>", "CESQL expression the events must match, e.g. \"type LIKE 'order.%'\"")
      .option("--from <where>", "beginning, now, or a position to start at (with --stream: a version)", "now")
      .option("--sub <id>", "consume from this subscription (pull) instead of reading the log")
      .option("--stream <name>", "follow this one stream (GET /streams/{name}) instead of the whole log")
      .addOption(
        new Option("--output <format>", "output format").choices(["pretty", "json"]).default("pretty"),
      )
      .option("--json", "same as --output json")
      .option("-n, --count <n>", "stop after this many events", integer(1))
      .option("--no-follow", "stop at the end of the log (or when a pull comes back empty)")
      .option("--interval <ms>", "poll interval at the end of the log", integer(10), 500)
      .option("--limit <n>", "events per request", integer(1, 10_000), 100)
      .option("--wait <ms>", "long-poll wait per pull (subscriptions)", integer(0, 60_000), 5000)
      .option("--no-ack", "with --sub: leave pulled events unacked (they are redelivered later)")
      .option("--system", "include Herald's own $ streams (dead letters)")
      .option("--no-retry", "exit when the server goes away instead of reconnecting with backoff"),
  ).action(async (flags: ConnectionFlags & TailFlags) => {
    await tail(
      clientFrom(flags),
      {
        from: flags.from,
        ...(flags.filter !== undefined ? { filter: flags.filter } : {}),
        ...(flags.sub !== undefined ? { sub: flags.sub } : {}),
        ...(flags.stream !== undefined ? { stream: flags.stream } : {}),
        retry: flags.retry,
        format: flags.json ? "json" : flags.output,
        ...(flags.count !== undefined ? { count: flags.count } : {}),
        follow: flags.follow,
        intervalMs: flags.interval,
        limit: flags.limit,
        system: flags.system === true,
        ack: flags.ack,
        waitMs: flags.wait,
      },
      out,
      interruption(),
    );
  });

  addConnectionOptions(
    program
      .command("read")
      .description("print one stream's events, forwards (default) or backwards")
      .argument("<stream>")
      .option(
        "--from <version>",
        "first version (default: 0, or the last one with --direction backwards)",
        integer(0),
      )
      .option("--limit <n>", "print at most this many events (default: all)", integer(1))
      .addOption(
        new Option("--direction <direction>", "reading order")
          .choices(["forwards", "backwards"])
          .default("forwards"),
      )
      .addOption(
        new Option("--output <format>", "output format").choices(["pretty", "json"]).default("pretty"),
      )
      .option("--json", "same as --output json")
      .option("--page-size <n>", "events per request", integer(1, 10_000), 500),
  ).action(async (stream: string, flags: ConnectionFlags & ReadFlags) => {
    await readStream(
      clientFrom(flags),
      stream,
      {
        ...(flags.from !== undefined ? { from: flags.from } : {}),
        ...(flags.limit !== undefined ? { limit: flags.limit } : {}),
        direction: flags.direction,
        format: flags.json ? "json" : flags.output,
        pageSize: flags.pageSize,
      },
      out,
    );
  });

  addProgressOptions(
    addConnectionOptions(
      program
        .command("replay")
        .description("re-deliver a range of positions or a time window of the log to a sink URL")
        .requiredOption("--sink <url>", "where to POST each event", httpUrl)
        .option("--from <position>", "first position (inclusive)", integer(1))
        .option("--to <position>", "last position (inclusive; default: the end of the log)", integer(1))
        .option("--since <time>", "start of a time window (ISO 8601, inclusive)", timestamp)
        .option("--until <time>", "end of the time window (inclusive; default: now)", timestamp)
        .addOption(
          new Option(
            "--clock <clock>",
            "the time --since/--until compare: event (its time attribute, else when the log recorded it) " +
              "or log (when the log recorded it; stops at --until)",
          ).choices(["event", "log"]),
        )
        .option("--filter <cesql>", "replay only events matching this CESQL expression")
        .addOption(
          new Option("--mode <mode>", "CloudEvents HTTP content mode")
            .choices(["binary", "structured"])
            .default("binary"),
        )
        .option("--limit <n>", "events per read request", integer(1, 10_000), 500)
        .option("--retries <n>", "retries per event on 408, 429, 5xx or network errors", integer(0, 20), 3)
        .option("--continue-on-error", "go on after an event fails; exit 1 at the end")
        .option("--dry-run", "count what would be replayed, send nothing"),
    ),
  ).action(async (flags: ConnectionFlags & ReplayFlags) => {
    await replay(
      clientFrom(flags),
      {
        ...flags,
        continueOnError: flags.continueOnError === true,
        dryRun: flags.dryRun === true,
        progress: progressMode(flags.progress),
      },
      encodeForSink,
      out,
      interruption(),
    );
  });

  const streams = program.command("streams").description("list streams, delete one");
  addConnectionOptions(
    streams
      .command("list")
      .description("list streams in name order with their versions")
      .option("--prefix <prefix>", "only streams whose name starts with this")
      .option("--system", "include Herald's own $ streams")
      .option("--deleted", "include deleted streams (tombstones)")
      .option("--json", "one JSON object per line"),
  ).action(async (flags: ConnectionFlags & ListStreamsOptions) => listStreams(clientFrom(flags), flags, out));
  addConnectionOptions(
    streams
      .command("delete")
      .description("soft-delete a stream: its events become unreadable, its name is never reused")
      .argument("<stream>")
      .option("--expected-version <v>", "only if the stream is at this version (any, exists or a number)")
      .option(
        "--hard",
        "also remove the tombstone (of a deleted stream too): the name may be reused from version 0",
      ),
  ).action(async (stream: string, flags: ConnectionFlags & { expectedVersion?: string; hard?: boolean }) =>
    deleteStream(clientFrom(flags), stream, flags, out),
  );

  const subs = program.command("subs").description("manage subscriptions (consumer groups)");
  addConnectionOptions(
    subs.command("list").description("list subscriptions").option("--json", "one JSON object per line"),
  ).action(async (flags: ConnectionFlags & JsonFlag) =>
    listSubscriptions(clientFrom(flags), flags.json === true, out),
  );
  addConnectionOptions(
    subs.command("get").description("print one subscription as JSON").argument("<id>"),
  ).action(async (id: string, flags: ConnectionFlags) => showSubscription(clientFrom(flags), id, out));
  addConnectionOptions(
    subs
      .command("create")
      .description("create a subscription: push with --sink, pull without")
      .argument("[id]", "its name (default: the server picks one)")
      .option("--sink <url>", "push each event to this URL (CloudEvents HTTP)", httpUrl)
      .option("--type <type>", "only events of this type (repeatable)", collect)
      .option("--filter <cesql>", "a CESQL (sql dialect) filter (repeatable; all must match)", collect)
      .option("--exact <attr=value>", "exact filter (repeatable)", collect)
      .option("--prefix <attr=value>", "prefix filter (repeatable)", collect)
      .option("--suffix <attr=value>", "suffix filter (repeatable)", collect)
      .option("--start <where>", "beginning, now, a position, or an ISO time")
      .addOption(
        new Option("--ordering <ordering>", "key: in order per stream; none: any order").choices([
          "key",
          "none",
        ]),
      )
      .addOption(
        new Option(
          "--retention <mode>",
          "stream: events stay for replay; queue: acked events may be dropped",
        ).choices(["stream", "queue"]),
      )
      .option("--max-in-flight <n>", "unacked events at most", integer(1))
      .option("--ack-timeout <ms>", "redeliver unacked events after this long", integer(1))
      .option("--max-deliveries <n>", "attempts before an event is dead-lettered", integer(1))
      .option("--secret <secret>", "sign pushes the Standard Webhooks way")
      .addOption(new Option("--content-mode <mode>", "push content mode").choices(["binary", "structured"]))
      .option("--config <name=value>", "any other config field, value as JSON (repeatable)", collect)
      .option("--body <file>", "start from this JSON subscription resource; flags override it")
      .option("--json", "print the created resource as JSON"),
  ).action(async (id: string | undefined, flags: ConnectionFlags & CreateSubscriptionOptions) =>
    createSubscription(clientFrom(flags), id, flags, out),
  );
  addConnectionOptions(subs.command("delete").description("delete a subscription").argument("<id>")).action(
    async (id: string, flags: ConnectionFlags) => deleteSubscription(clientFrom(flags), id, out),
  );
  addConnectionOptions(
    subs
      .command("stats")
      .description("lag, in flight, delivered, retried, dead-lettered")
      .argument("<id>")
      .option("--json", "print as JSON"),
  ).action(async (id: string, flags: ConnectionFlags & JsonFlag) =>
    subscriptionStats(clientFrom(flags), id, flags.json === true, out),
  );

  addConnectionOptions(
    subs
      .command("dead-letters")
      .description("list a subscription's dead letters: the event, why and when it died, redriven or not")
      .argument("<id>")
      .option("--json", "one JSON object per line")
      .option("--limit <n>", "dead letters per request", integer(1, 1000), 100),
  ).action(async (id: string, flags: ConnectionFlags & JsonFlag & { limit: number }) =>
    listDeadLetters(clientFrom(flags), id, { json: flags.json === true, pageSize: flags.limit }, out),
  );
  addConnectionOptions(
    subs
      .command("redrive")
      .description("queue dead letters for redelivery (the live checkpoint does not move)")
      .argument("<id>")
      .option("--from <position>", "only events whose original position is at least this", integer(0))
      .option("--to <position>", "only events whose original position is at most this", integer(0))
      .option("--type <type>", "only events of this type (repeatable)", collect)
      .option("--filter <cesql>", "only events matching this CESQL expression (repeatable)", collect)
      .option("--include-redriven", "also dead letters that were redriven before")
      .option("--dry-run", "only count what would be redriven"),
  ).action(async (id: string, flags: ConnectionFlags & RedriveOptions) =>
    redriveDeadLetters(clientFrom(flags), id, flags, out),
  );
  addConnectionOptions(
    subs
      .command("reset")
      .description(
        "move a subscription to beginning, now, a position or an ISO time (keeps id, settings, dead letters)",
      )
      .argument("<id>")
      .argument("<target>", "beginning, now, a position or an ISO time")
      .option("--dry-run", "only tell the new checkpoint and how many events it would deliver")
      .option("--json", "print the answer as JSON"),
  ).action(async (id: string, target: string, flags: ConnectionFlags & JsonFlag & { dryRun?: boolean }) =>
    resetSubscription(
      clientFrom(flags),
      id,
      target,
      { dryRun: flags.dryRun === true, json: flags.json === true },
      out,
    ),
  );

  return program;
}
