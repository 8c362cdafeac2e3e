/**
 * The start-up error of the scale-out database, apart from the `pg` driver: the entry point names
 * it in its one-line error without loading PostgreSQL code in embedded mode.
 */

/** The server did not answer at start-up. The message names host, port and database, never the password. */
export class DatabaseUnavailableError extends Error {
  constructor(url: string, cause: unknown) {
    const u = new URL(url);
    super(
      `cannot reach PostgreSQL at ${u.hostname}:${u.port || "5432"}${u.pathname} (REELAY_DATABASE_URL): ${
        (cause as Error).message
      }`,
    );
    this.name = "DatabaseUnavailableError";
  }
}
