/**
 * A storyboard in scale-out mode: an API process and two worker processes on one PostgreSQL
 * database (pg-boss carries the storyboard's steps as it carries renders). The API creates it;
 * the workers make its shots in order and join the film; the storyboard is charged once.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { waitForTask } from "../helpers/app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.js";
import { mintKey, ServerGroup } from "../helpers/process.js";
import { scaleOutEnv } from "../helpers/scale-out.js";

const ADMIN = "storyboard-scale-admin-token-0123456789";
const servers = new ServerGroup();
let dir = "";
let database: TestDatabase | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "reelay-storyboard-scale-"));
  database = await createTestDatabase();
});
afterAll(async () => {
  await servers.killAll();
  await database?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

it("an API and two workers on PostgreSQL make a three-shot storyboard into one film, charged once", async () => {
  if (!database) throw new Error("no database");
  const env = await scaleOutEnv({
    database,
    dir,
    name: "data",
    adminToken: ADMIN,
    signingSecret: "storyboard-scale-signing-secret-0123456789abcdef",
    config: {
      models: [{ name: "tiny", family: "sora-2", sizes: ["small"], durations: [1, 2], maxImages: 1 }],
      pricing: { perSecond: { tiny: 4 } },
    },
  });
  const [api] = await Promise.all([
    servers.start(env, "serve"),
    servers.start(env, "worker"),
    servers.start(env, "worker"),
  ]);
  if (!api) throw new Error("no API process");
  const key = await mintKey(api, ADMIN);
  const me = (await (
    await fetch(`${api.url}/v1/me`, { headers: { authorization: `Bearer ${key}` } })
  ).json()) as {
    owner_id: string;
  };
  const admin = { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" };
  await fetch(`${api.url}/admin/accounts/${me.owner_id}/credits`, {
    method: "POST",
    headers: admin,
    body: JSON.stringify({ amount: 100 }),
  });
  const res = await fetch(`${api.url}/v1/video/storyboards`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({
      model: "tiny",
      orientation: "landscape",
      size: "small",
      shots: [
        { prompt: "one", duration: 2 },
        { prompt: "two", duration: 1 },
        { prompt: "three", duration: 2 },
      ],
    }),
  });
  const { id } = (await res.json()) as { id: string };
  expect(res.status).toBe(200);
  const done = await waitForTask(api, key, id, { timeoutMs: 90_000 });
  expect(done.status, JSON.stringify(done)).toBe("completed");
  expect(done.duration).toBe(5);
  const shots = (done.storyboard as { shots: { status: string; task_id: string }[] }).shots;
  expect(shots.map((s) => s.status)).toEqual(["completed", "completed", "completed"]);
  const account = (await (
    await fetch(`${api.url}/admin/accounts/${me.owner_id}`, { headers: admin })
  ).json()) as {
    balance: number;
  };
  expect(account.balance).toBe(100 - 4 * 5);
});
