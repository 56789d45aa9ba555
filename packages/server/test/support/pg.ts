// The shared test database (`@herald/log-postgres/testing`); the server takes it as a URL (setting `database.url`).
export {
  freshSchema,
  needsPostgres,
  testConnection as connection,
  testDatabaseUrl as databaseUrl,
} from "@herald/log-postgres/testing";
