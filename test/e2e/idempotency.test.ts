/**
 * Idempotency-Key on create: retries return the same task, a different body under the key is 409.
 * Concurrent creates under one key run on the embedded store and on PostgreSQL.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp, waitForTask } from "../helpers/app.js";
import { FakeProvider, SEED_BODY } from "../helpers/fake-provider.js";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.js";

let app: TestApp;
let key: string;

beforeAll(async () => {
  app = await startTestApp({ overrides: { provider: new FakeProvider() } });
  key = await app.newKey();
});
afterAll(() => app.close());

const create = (body: object, idem: string, k = key) =>
  app.request("/v1/video/create", { key: k, body, headers: { "idempotency-key": idem } });

describe.each([
  { store: "SQLite", database: false },
  { store: "PostgreSQL", database: true },
])("on $store", ({ database }) => {
  let db: TestDatabase | undefined;
  let on: TestApp;
  let owner: string;
  beforeAll(async () => {
    db = database ? await createTestDatabase() : undefined;
    on = db
      ? await startTestApp({
          overrides: { provider: new FakeProvider() },
          env: {
            REELAY_DATABASE_URL: db.url,
            REELAY_SIGNING_SECRET: "idempotency-signing-secret-0123456789abcdef",
          },
        })
      : app;
    owner = on === app ? key : await on.newKey();
  });
  afterAll(async () => {
    if (on !== app) await on?.close();
    await db?.drop();
  });

  it("concurrent identical creates under one key all answer 200 with the one task they made", async () => {
    // Truly concurrent, three rounds of 40: on PostgreSQL the losers' key inserts wait for the
    // winner's commit, and used to answer 409.
    for (const round of [1, 2, 3]) {
      const idem = `race-${round}`;
      const responses = await Promise.all(
        Array.from({ length: 40 }, () =>
          on.request("/v1/video/create", {
            key: owner,
            body: SEED_BODY,
            headers: { "idempotency-key": idem },
          }),
        ),
      );
      const bodies = await Promise.all(
        responses.map((r) => r.json() as Promise<{ id: string; status_update_time: number }>),
      );
      expect(
        responses.map((r) => r.status),
        JSON.stringify(bodies.find((b) => !("id" in b))),
      ).toEqual(Array(40).fill(200));
      expect(new Set(bodies.map((b) => b.id)).size).toBe(1);
      // The same response each time, as the first one gave it.
      expect(new Set(bodies.map((b) => b.status_update_time)).size).toBe(1);
    }
    const all = await on.request("/v1/videos?limit=100", { key: owner });
    const ids = ((await all.json()) as { data: { id: string }[] }).data.map((v) => v.id);
    expect(ids).toHaveLength(3);
    for (const id of ids) expect((await waitForTask(on, owner, id)).status).toBe("completed");
  });
});

it("the same key with a different body is 409 idempotency_conflict, not retried by clients", async () => {
  await create(SEED_BODY, "retry-2");
  const res = await create({ ...SEED_BODY, prompt: "something else" }, "retry-2");
  expect(res.status).toBe(409);
  expect(res.headers.get("x-should-retry")).toBe("false");
  expect(((await res.json()) as { error: { code: string; param: string } }).error).toMatchObject({
    code: "idempotency_conflict",
    param: "Idempotency-Key",
  });
});

it("keys are per owner, and a bad key value is 400", async () => {
  const other = await app.newKey();
  const a = (await (await create(SEED_BODY, "shared")).json()) as { id: string };
  const b = (await (await create(SEED_BODY, "shared", other)).json()) as { id: string };
  expect(a.id).not.toBe(b.id);
  const bad = await create(SEED_BODY, "x".repeat(300));
  expect(bad.status).toBe(400);
});

it("the official client with an Idempotency-Key header: a retried create returns the same video", async () => {
  const client = new OpenAI({ apiKey: key, baseURL: `${app.url}/v1` });
  const first = await client.videos.create({ prompt: "once" }, { headers: { "Idempotency-Key": "sdk-1" } });
  const again = await client.videos.create({ prompt: "once" }, { headers: { "Idempotency-Key": "sdk-1" } });
  expect(again.id).toBe(first.id);
  await expect(
    client.videos.create({ prompt: "twice" }, { headers: { "Idempotency-Key": "sdk-1" } }),
  ).rejects.toBeInstanceOf(OpenAI.ConflictError);
});
