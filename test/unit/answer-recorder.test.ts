/**
 * The check that openapi.json declares every status a route answers (test/global-answers.ts):
 * the recorder sees a running app's answers, and the comparison names what is not declared.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { ErrorCode } from "../../src/core/errors.js";
import { openApiDocument } from "../../src/http/openapi.js";
import { routeKey } from "../../src/http/route.js";
import { ROUTES } from "../../src/http/routes.js";
import { readAnswers, undeclaredAnswers } from "../answers/check.js";
import { startTestApp } from "../helpers/app.js";
import { FakeProvider } from "../helpers/fake-provider.js";

type Doc = Parameters<typeof undeclaredAnswers>[1];
const docOf = (routes: typeof ROUTES): Doc =>
  openApiDocument(routes, { publicUrl: "http://localhost", version: "test" }) as Doc;

it("names an answered status the document does not declare, and passes declared ones", () => {
  const answers = [
    { method: "POST", route: "/v1/video/create", status: 402 },
    { method: "POST", route: "/v1/video/create", status: 200 },
    { method: "HEAD", route: "/v1/videos/:id", status: 404 },
    { method: "GET", route: "/docs/static/*", status: 200 },
  ];
  expect(undeclaredAnswers(answers, docOf(ROUTES))).toEqual([]);
  // The same document, with create no longer declaring insufficient_credits: its 402 is named.
  const without = ROUTES.map((r) =>
    routeKey(r) === "POST /v1/video/create"
      ? { ...r, errors: r.errors.filter((c) => c !== ErrorCode.insufficientCredits) }
      : r,
  );
  expect(undeclaredAnswers(answers, docOf(without))).toEqual(["POST /v1/video/create → 402"]);
  expect(undeclaredAnswers([{ method: "GET", route: "/nope", status: 200 }], docOf(ROUTES))).toEqual([
    "GET /nope: not in openapi.json at all",
  ]);
});

it("reads every process's recordings once each", async () => {
  const dir = await mkdtemp(join(tmpdir(), "reelay-answers-test-"));
  try {
    const line = JSON.stringify({ method: "GET", route: "/healthz", status: 200 });
    await writeFile(join(dir, "1.jsonl"), `${line}\n`);
    await writeFile(
      join(dir, "2.jsonl"),
      `${line}\n${JSON.stringify({ method: "GET", route: "/readyz", status: 503 })}\n`,
    );
    expect(await readAnswers(dir)).toEqual([
      { method: "GET", route: "/healthz", status: 200 },
      { method: "GET", route: "/readyz", status: 503 },
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

it("records what a running app answered, by route pattern", async () => {
  const dir = process.env.REELAY_ANSWER_LOG;
  // Set by the global setup for every run; without it nothing would be checked at all.
  expect(dir).toBeTruthy();
  const app = await startTestApp({ overrides: { provider: new FakeProvider() } });
  try {
    const key = await app.newKey();
    expect((await app.request("/v1/videos/video_nope", { key })).status).toBe(404);
  } finally {
    await app.close();
  }
  const answers = await readAnswers(dir ?? "");
  expect(answers).toContainEqual({ method: "GET", route: "/v1/videos/:id", status: 404 });
});
