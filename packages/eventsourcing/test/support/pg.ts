// PostgreSQL for the tests: `test` on 127.0.0.1:5432 (HERALD_TEST_PG_URL overrides it), one schema per
// test, dropped when the file ends. Unreachable: the tests skip locally, but fail under CI=true.
import { randomBytes } from "node:crypto";
import { after } from "node:test";
import pg from "pg";

export const connection: pg.PoolConfig =
  process.env["HERALD_TEST_PG_URL"] !== undefined
    ? { connectionString: process.env["HERALD_TEST_PG_URL"] }
    : { host: "127.0.0.1", port: 5432, user: "postgres", database: "test" };

async function probe(): Promise<string | undefined> {
  const client = new pg.Client({ ...connection, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await client.end().catch(() => {});
  }
}

const problem = await probe();
if (problem !== undefined && process.env["CI"] === "true")
  throw new Error(`PostgreSQL is required under CI=true and is unreachable: ${problem}`);

export const needsPostgres: { skip?: string } =
  problem === undefined ? {} : { skip: `PostgreSQL unreachable (${problem})` };

const schemas: string[] = [];

export function freshSchema(): string {
  const name = `herald_es_${randomBytes(6).toString("hex")}`;
  schemas.push(name);
  return name;
}

after(async () => {
  if (problem !== undefined || schemas.length === 0) return;
  const client = new pg.Client(connection);
  await client.connect();
  try {
    for (const schema of schemas.splice(0)) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
});
