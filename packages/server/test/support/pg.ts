// The database the server's PostgreSQL tests use: `test` on 127.0.0.1:5432 (HERALD_TEST_PG_URL
// overrides it), as in packages/log-postgres/test/support/pg.ts. Each test gets its own schema
// (setting `database.schema`). Without a reachable server the tests skip locally, but fail under CI=true.
import { randomBytes } from "node:crypto";
import { after } from "node:test";
import pg from "pg";

/** The server takes a URL (setting `database.url`). */
export const databaseUrl = process.env["HERALD_TEST_PG_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
export const connection: pg.PoolConfig = { connectionString: databaseUrl };

async function probe(): Promise<string | undefined> {
  const client = new pg.Client({ ...connection, connectionTimeoutMillis: 3000 });
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
  let name = connection.database;
  let admin: pg.ClientConfig = { ...connection, database: "postgres" };
  if (connection.connectionString !== undefined) {
    const url = new URL(connection.connectionString);
    name = decodeURIComponent(url.pathname.slice(1));
    url.pathname = "/postgres";
    admin = { connectionString: url.toString() };
  }
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

/** A fresh schema name, dropped when the test file ends. */
export function freshSchema(): string {
  const name = `herald_test_${randomBytes(6).toString("hex")}`;
  schemas.push(name);
  return name;
}

after(async () => {
  if (!postgresUp || schemas.length === 0) return;
  const client = new pg.Client(connection);
  await client.connect();
  try {
    for (const schema of schemas.splice(0)) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
});
