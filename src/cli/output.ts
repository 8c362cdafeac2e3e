/** How the CLI speaks: JSON for scripts, short tables for people, and exit codes that say what failed. */
import { ReelayApiError } from "../client/index.js";

export const EXIT = {
  ok: 0,
  /** The task ended failed or cancelled. */
  taskFailed: 1,
  /** The request was refused (bad input, a finished task, …). */
  badRequest: 2,
  /** Missing, wrong, revoked key or token. */
  auth: 3,
  notFound: 4,
  /** Reelay unreachable or answering 5xx. */
  server: 5,
  /** Waited too long. */
  timeout: 6,
} as const;

export function exitCodeOf(e: unknown): number {
  if (e instanceof ReelayApiError) {
    if (e.code === "timeout") return EXIT.timeout;
    if (e.status === 401 || e.status === 403) return EXIT.auth;
    if (e.status === 404) return EXIT.notFound;
    if (e.status >= 400 && e.status < 500) return EXIT.badRequest;
  }
  return EXIT.server;
}

/** An error as one line for people; what the client refused before asking names the variable to set. */
export function describeError(e: unknown): string {
  if (!(e instanceof ReelayApiError)) return e instanceof Error ? e.message : String(e);
  if (e.code === "missing_api_key") {
    return "REELAY_API_KEY is not set: export REELAY_API_KEY=rl-… (an admin makes one with `reelay keys create`)";
  }
  if (e.code === "missing_admin_token") {
    return "REELAY_ADMIN_TOKEN is not set: it is the server's admin token (its REELAY_ADMIN_TOKEN, or the admin-token file in its data dir)";
  }
  const field = e.param ? ` (field: ${e.param})` : "";
  const hint = e.code === "unreachable" ? ": is it running, and is REELAY_URL right?" : "";
  return `${e.message}${field}${hint} [${e.code}]`;
}

/** A plain aligned table. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}
