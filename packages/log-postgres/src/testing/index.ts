// `@herald/log-postgres/testing`: the PostgreSQL that Herald's integration tests share (and a backend's
// or an application's tests may use): the database `test` on 127.0.0.1:5432 (HERALD_TEST_PG_URL
// overrides it), one fresh schema per test, dropped when the test file ends. Without a reachable
// server the tests skip locally (`needsPostgres`), but importing this throws under CI=true.
import { randomBytes } from "node:crypto";
import { after } from "node:test";
import pg from "pg";

/** The test database's URL: `test` on 127.0.0.1:5432 as user postgres, or HERALD_TEST_PG_URL. */
export const testDatabaseUrl = process.env["HERALD_TEST_PG_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
export const testConnection: pg.PoolConfig = { connectionString: testDatabaseUrl };

async function probe(): Promise<string | undefined> {
  const client = new pg.Client({ ...testConnection, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return undefined;
  } catch (error) {
    // A fresh server without the `test` database: create it once from the default database.
    if ((error as { code?: string }).code === "3D000") return createDatabase();
    return error instanceof Error ? error.message : String(error);
  } finally {
    await client.end().catch(() => {});
  }
}

async function createDatabase(): Promise<string | undefined> {
  const url = new URL(testDatabaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  url.pathname = "/postgres";
  const admin: pg.ClientConfig = { connectionString: url.toString() };
  if (name === undefined || name === "") return "no database name to create";
  const client = new pg.Client({ ...admin, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
    return undefined;
  } catch (error) {
    if ((error as { code?: string }).code === "42P04") return undefined; // created meanwhile
    return error instanceof Error ? error.message : String(error);
  } finally {
    await client.end().catch(() => {});
  }
}

const problem = await probe();
if (problem !== undefined && process.env["CI"] === "true")
  throw new Error(`PostgreSQL is required under CI=true and is unreachable: ${problem}`);

/** `{ skip }` for node:test when PostgreSQL is unreachable (never under CI=true). */
export const needsPostgres: { skip?: string } =
  problem === undefined ? {} : { skip: `PostgreSQL unreachable (${problem})` };
export const postgresUp = problem === undefined;

const schemas: string[] = [];

/** A fresh schema name (`<prefix>_<random>`), dropped when the test file ends. */
export function freshSchema(prefix = "herald_test"): string {
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  schemas.push(name);
  return name;
}

after(async () => {
  if (!postgresUp || schemas.length === 0) return;
  const client = new pg.Client(testConnection);
  await client.connect();
  try {
    for (const schema of schemas.splice(0)) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
});

const databases: string[] = [];

function urlOf(database: string): string {
  const url = new URL(testDatabaseUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(testConnection);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A fresh, empty database (`<prefix>_<random>`) on the test server, dropped when the test file ends. */
export async function freshDatabase(
  prefix = "herald_db",
): Promise<{ readonly name: string; readonly url: string }> {
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  databases.push(name);
  await admin((client) => client.query(`CREATE DATABASE "${name}"`));
  return { name, url: urlOf(name) };
}

/**
 * A backup and restore as an operator does it: `pg_dump -Fc` of database `from` (consistent while
 * others write), `pg_restore` into a fresh database, whose URL is returned (dropped at the end).
 */
export async function dumpAndRestore(
  from: string,
  prefix = "herald_restored",
): Promise<{ readonly name: string; readonly url: string }> {
  const { execFile } = await import("node:child_process");
  const { promisify } = await import("node:util");
  const run = promisify(execFile);
  const target = await freshDatabase(prefix);
  const { stdout } = await run("pg_dump", ["-Fc", "--dbname", urlOf(from)], {
    encoding: "buffer",
    maxBuffer: 512 * 1024 * 1024,
  });
  await new Promise<void>((resolve, reject) => {
    const child = execFile("pg_restore", ["--no-owner", "--dbname", target.url], (error) =>
      error ? reject(error) : resolve(),
    );
    child.stdin?.end(stdout);
  });
  return target;
}

after(async () => {
  if (!postgresUp || databases.length === 0) return;
  await admin(async (client) => {
    for (const name of databases.splice(0))
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });
});
