// Install anywhere: the packed tarballs install into an empty project with plain npm, and the `herald`
// command works there (`npx herald`) and after a global install. Slow by nature: where no prebuilt
// better-sqlite3 can be downloaded, npm compiles it from source (most of this test's time). It never
// skips: without npm or its cache this test fails, under CI=true or not.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

const REPO = process.env.HERALD_REPO_ROOT ?? fileURLToPath(new URL("../../../../", import.meta.url));
const MINUTE = 60_000;

interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

interface Running {
  readonly child: ChildProcess;
  readonly stderr: () => string;
  /** Resolves once the process and every process holding its output pipes have ended. */
  readonly done: Promise<Finished>;
}

/** The environment without the npm_* settings of an enclosing `npm test`, which would steer the inner npm. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(name) && !name.startsWith("HERALD_") && name !== "INIT_CWD") env[name] = value;
  }
  return env;
}

function start(command: string, args: readonly string[], cwd: string, options: { group?: boolean } = {}) {
  const child = spawn(command, args, {
    cwd,
    env: cleanEnv(),
    stdio: ["ignore", "pipe", "pipe"],
    detached: options.group === true,
  });
  const seen = { stdout: "", stderr: "" };
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    seen.stdout += chunk;
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    seen.stderr += chunk;
  });
  const done = new Promise<Finished>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, ...seen }));
  });
  return { child, stderr: () => seen.stderr, done } satisfies Running;
}

/** Runs a command to its end; fails the test with its output if it exits non-zero or takes too long. */
async function run(
  command: string,
  args: readonly string[],
  cwd: string,
  timeoutMs: number,
): Promise<Finished> {
  const running = start(command, args, cwd);
  const timer = setTimeout(() => running.child.kill("SIGKILL"), timeoutMs);
  const result = await running.done.finally(() => clearTimeout(timer));
  const what = `${command} ${args.join(" ")}`;
  assert.equal(result.signal, null, `${what} did not finish in ${timeoutMs} ms\n${result.stderr}`);
  assert.equal(
    result.code,
    0,
    `${what} exited ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`,
  );
  return result;
}

/** Waits for `herald listening on <url>` on stderr; fails with the output if the process ends first. */
async function listeningUrl(running: Running, timeoutMs = MINUTE): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let ended = false;
  void running.done.then(() => {
    ended = true;
  });
  for (;;) {
    const match = running.stderr().match(/herald listening on (http:\/\/\S+)/);
    if (match?.[1]) return match[1];
    if (ended || Date.now() > deadline) assert.fail(`herald serve did not start:\n${running.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Publishes one structured-mode event and reads the log back through the HTTP API. */
async function publishAndReadBack(url: string, id: string): Promise<void> {
  const event = {
    specversion: "1.0",
    id,
    source: "/install-test",
    type: "com.example.installed",
    data: { ok: 1 },
  };
  const published = await fetch(`${url}/events`, {
    method: "POST",
    headers: { "content-type": "application/cloudevents+json" },
    body: JSON.stringify(event),
  });
  const answer = (await published.json()) as { results: Array<{ id: string; position: number }> };
  assert.equal(published.status, 200, JSON.stringify(answer));
  assert.equal(answer.results[0]?.id, id);
  const read = await fetch(`${url}/events?after=0&limit=10`);
  assert.equal(read.status, 200);
  const page = (await read.json()) as {
    events: Array<{ position: number; event: { id: string; data: unknown } }>;
  };
  assert.deepEqual(
    page.events.map((entry) => [entry.position, entry.event.id, entry.event.data]),
    [[answer.results[0]?.position, id, { ok: 1 }]],
  );
}

describe("install from the packed tarballs", { timeout: 12 * MINUTE }, () => {
  let work: string;
  let tarballs: string[];
  let version: string;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), "herald-install-"));
    const packed = await run(
      process.execPath,
      [join(REPO, "scripts", "pack.mjs"), "--out", join(work, "tarballs")],
      REPO,
      2 * MINUTE,
    );
    tarballs = packed.stdout.split("\n").filter((line) => line.endsWith(".tgz"));
    const cli = JSON.parse(await readFile(join(REPO, "packages", "cli", "package.json"), "utf8")) as {
      version: string;
    };
    version = cli.version;
  });
  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  test("one tarball per package", () => {
    assert.deepEqual(tarballs.map((path) => path.slice(path.lastIndexOf("/") + 1)).sort(), [
      `herald-${version}.tgz`,
      `herald-bridges-${version}.tgz`,
      `herald-cloudevents-${version}.tgz`,
      `herald-console-${version}.tgz`,
      `herald-eventsourcing-${version}.tgz`,
      `herald-log-${version}.tgz`,
      `herald-log-postgres-${version}.tgz`,
      `herald-protocol-${version}.tgz`,
      `herald-sdk-${version}.tgz`,
      `herald-server-${version}.tgz`,
      `herald-service-${version}.tgz`,
      `herald-transport-amqp-${version}.tgz`,
      `herald-transport-mqtt-${version}.tgz`,
      `herald-transport-nats-${version}.tgz`,
      `herald-transport-redis-${version}.tgz`,
      `herald-workflows-${version}.tgz`,
    ]);
  });

  test("npm install <tarballs> in an empty project; npx herald serve stores and reads back an event", async (t) => {
    const project = join(work, "project");
    await mkdir(project);
    await writeFile(join(project, "package.json"), JSON.stringify({ name: "uses-herald", private: true }));
    const began = Date.now();
    // --prefer-offline: dependencies come from the npm cache when it holds them. Most of the time goes to
    // compiling better-sqlite3 when no prebuilt binary can be fetched (minutes on a loaded 2-core machine).
    await run(
      "npm",
      ["install", "--prefer-offline", "--no-audit", "--no-fund", ...tarballs],
      project,
      8 * MINUTE,
    );
    t.diagnostic(`npm install took ${((Date.now() - began) / 1000).toFixed(1)} s`);

    // npx does not pass SIGTERM on, so stop it as a terminal's Ctrl-C does: SIGINT to the process group.
    const serve = start(
      "npx",
      ["--no", "herald", "serve", "--log-format", "pretty", "--port", "0", "--data", "./data"],
      project,
      {
        group: true,
      },
    );
    try {
      const url = await listeningUrl(serve);
      assert.match(serve.stderr(), new RegExp(`\\(data: ${join(project, "data")}\\)`));
      await publishAndReadBack(url, "installed-1");
    } finally {
      if (serve.child.pid !== undefined && serve.child.exitCode === null)
        process.kill(-serve.child.pid, "SIGINT");
    }
    const stopped = await serve.done;
    assert.match(stopped.stderr, /herald stopped/, stopped.stderr);
  });

  test("npm install -g <tarballs>: the herald bin on PATH; a missing native build gets the rebuild hint", async (t) => {
    const prefix = join(work, "global");
    const began = Date.now();
    // --ignore-scripts skips a second compile of better-sqlite3, and so makes its native module
    // really missing: the SQLite storage must then refuse with the hint, the memory storage must work.
    await run(
      "npm",
      [
        "install",
        "-g",
        "--prefix",
        prefix,
        "--ignore-scripts",
        "--prefer-offline",
        "--no-audit",
        "--no-fund",
        ...tarballs,
      ],
      work,
      4 * MINUTE,
    );
    t.diagnostic(`npm install -g took ${((Date.now() - began) / 1000).toFixed(1)} s`);
    const herald = join(prefix, "bin", "herald");
    const shown = await run(herald, ["--version"], work, MINUTE);
    assert.equal(shown.stdout.trim(), version);

    const memory = start(
      herald,
      ["serve", "--log-format", "pretty", "--storage", "memory", "--port", "0"],
      work,
    );
    try {
      await publishAndReadBack(await listeningUrl(memory), "installed-2");
    } finally {
      memory.child.kill("SIGTERM");
    }
    assert.equal((await memory.done).code, 0);

    const sqlite = start(
      herald,
      ["serve", "--log-format", "pretty", "--port", "0", "--data", join(work, "global-data")],
      work,
    );
    // Were the module there after all, serve would run: stop it so the assertions below can say so.
    const guard = setTimeout(() => sqlite.child.kill("SIGKILL"), MINUTE);
    const refused = await sqlite.done.finally(() => clearTimeout(guard));
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(
      refused.stderr,
      /could not load better-sqlite3's native module \(Could not locate the bindings file\)/,
    );
    assert.match(refused.stderr, /npm rebuild better-sqlite3/);
    assert.match(refused.stderr, /python3, make and g\+\+/);
    assert.match(refused.stderr, /--storage memory/);
    assert.doesNotMatch(refused.stderr, /→/, "the loader's list of tried paths is left out");
  });
});
