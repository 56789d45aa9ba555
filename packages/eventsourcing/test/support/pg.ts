// The shared test database (`@herald/log-postgres/testing`), schemas named herald_es_….
import { freshSchema as sharedFreshSchema } from "@herald/log-postgres/testing";

export { needsPostgres, testConnection as connection } from "@herald/log-postgres/testing";

export function freshSchema(): string {
  return sharedFreshSchema("herald_es");
}
