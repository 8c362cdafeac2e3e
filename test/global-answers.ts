/**
 * vitest global setup: every Reelay app started by the run (in the test workers, or as a spawned
 * `node dist/…` process) records what each route answered (test/answers/recorder.mjs, loaded
 * through NODE_OPTIONS into every Node process started after this). At the end of the run, a
 * status that a route answered but openapi.json does not declare fails the run, naming it.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { openApiDocument } from "../src/http/openapi.js";
import { ROUTES } from "../src/http/routes.js";
import { readAnswers, undeclaredAnswers } from "./answers/check.js";

export default async function setup(): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), "reelay-answers-"));
  const recorder = resolve(import.meta.dirname, "answers", "recorder.mjs");
  process.env.REELAY_ANSWER_LOG = dir;
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ""} --import=${recorder}`.trim();
  return async () => {
    try {
      const doc = openApiDocument(ROUTES, { publicUrl: "http://localhost", version: "test" }) as Parameters<
        typeof undeclaredAnswers
      >[1];
      const undeclared = undeclaredAnswers(await readAnswers(dir), doc);
      if (undeclared.length > 0) {
        // vitest reports an error thrown here but still exits 0: set the status as well.
        process.exitCode = 1;
        throw new Error(
          `Routes answered statuses openapi.json does not declare (fix the route's declaration):\n  ${undeclared.join("\n  ")}`,
        );
      }
    } finally {
      if (!process.env.REELAY_KEEP_ANSWERS) await rm(dir, { recursive: true, force: true });
    }
  };
}
