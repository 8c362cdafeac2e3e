/** Compares recorded answers (test/answers/recorder.mjs) with the statuses openapi.json declares. */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { openApiPath } from "../../src/http/route.js";

export interface Answer {
  readonly method: string;
  /** The route pattern, in Fastify's notation. */
  readonly route: string;
  readonly status: number;
}

interface Doc {
  paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
}

/** Every answer recorded under `dir`, once each. */
export async function readAnswers(dir: string): Promise<Answer[]> {
  const lines = new Set<string>();
  for (const name of await readdir(dir)) {
    if (!name.endsWith(".jsonl")) continue;
    for (const line of (await readFile(join(dir, name), "utf8")).split("\n")) if (line) lines.add(line);
  }
  return [...lines].map((l) => JSON.parse(l) as Answer);
}

/**
 * The answers no operation of `doc` declares, one line each (`GET /v1/videos/:id → 409`). A HEAD
 * request is its GET's; the Swagger UI's own routes (`/docs…`) are not in the document.
 */
export function undeclaredAnswers(answers: readonly Answer[], doc: Doc): string[] {
  const out = new Set<string>();
  for (const a of answers) {
    if (a.route === "/docs" || a.route.startsWith("/docs/")) continue;
    const method = a.method === "HEAD" ? "get" : a.method.toLowerCase();
    const op = doc.paths[openApiPath(a.route)]?.[method];
    if (!op) out.add(`${a.method} ${a.route}: not in openapi.json at all`);
    else if (!(String(a.status) in op.responses)) out.add(`${a.method} ${a.route} → ${a.status}`);
  }
  return [...out].sort();
}
