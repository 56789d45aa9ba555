// The shared test database (`@herald/log-postgres/testing`).
export {
  freshSchema,
  needsPostgres,
  postgresUp,
  testConnection as connection,
} from "@herald/log-postgres/testing";
