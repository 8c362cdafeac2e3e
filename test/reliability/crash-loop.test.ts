/**
 * Many tasks in flight, the server SIGKILLed again and again at arbitrary moments, restarted on
 * the same data dir each time: no task is lost, none is stuck, each ends completed exactly once.
 * `npm test` runs a short version; `npm run soak` sets REELAY_SOAK=1 for a long one.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { mintKey, ServerGroup, type ServerProcess } from "../helpers/process.js";
import { pollUntil } from "../helpers/wait.js";

const SOAK = process.env.REELAY_SOAK === "1";
const TASKS = SOAK ? 60 : 8;
const KILLS = SOAK ? 12 : 3;
const ADMIN = "crash-loop-admin-token-0123456789";

let dir = "";
const servers = new ServerGroup();
afterAll(async () => {
  await servers.killAll();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const start = (): Promise<ServerProcess> =>
  servers.start({
    REELAY_DATA_DIR: join(dir, "data"),
    REELAY_ADMIN_TOKEN: ADMIN,
    REELAY_WORKER_CONCURRENCY: "2",
  });

it(`${TASKS} tasks, ${KILLS} SIGKILLs at random moments: every task completes exactly once`, async () => {
  dir = await mkdtemp(join(tmpdir(), "reelay-crashloop-"));
  let server = await start();
  const key = await mintKey(server, ADMIN);
  const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
  const ids: string[] = [];
  for (let i = 0; i < TASKS; i++) {
    const res = await fetch(`${server.url}/v1/videos`, {
      method: "POST",
      headers,
      body: JSON.stringify({
        prompt: `crash loop ${i}`,
        seconds: "4",
        size: i % 2 ? "720x1280" : "1280x720",
      }),
    });
    expect(res.status).toBe(200);
    ids.push(((await res.json()) as { id: string }).id);
  }

  for (let k = 0; k < KILLS; k++) {
    await new Promise((r) => setTimeout(r, 300 + Math.floor(Math.random() * 1500)));
    expect(await server.kill("SIGKILL")).toBe("SIGKILL");
    server = await start();
  }

  const statuses = new Map<string, string>();
  const listAll = async () => {
    const list: { id: string; status: string }[] = [];
    let after = "";
    for (let page = 0; page < 100; page++) {
      const res = await fetch(
        `${server.url}/v1/videos?limit=100&order=asc${after ? `&after=${encodeURIComponent(after)}` : ""}`,
        { headers },
      );
      const body = (await res.json()) as {
        data: { id: string; status: string }[];
        has_more: boolean;
        last_id: string;
      };
      list.push(...body.data);
      if (!body.has_more) break;
      after = body.last_id;
    }
    for (const v of list) statuses.set(v.id, v.status);
    return list;
  };
  await pollUntil(listAll, (list) => list.every((v) => v.status === "completed" || v.status === "failed"), {
    what: "every task to end",
    timeoutMs: SOAK ? 900_000 : 170_000,
    intervalMs: 500,
  });
  // None lost, none stuck, none failed; and no task appeared twice.
  expect([...statuses.keys()].sort()).toEqual([...ids].sort());
  expect([...statuses.values()].filter((s) => s !== "completed")).toEqual([]);
  const readyz = (await (await fetch(`${server.url}/readyz`)).json()) as {
    queue: { queued: number; running: number; dead: number };
  };
  expect(readyz.queue).toEqual({ queued: 0, running: 0, dead: 0 });
  // Exactly one result folder per task: no attempt left a second copy behind.
  expect((await readdir(join(dir, "data", "blobs", "tasks"))).length).toBe(TASKS);
}, 1_000_000);
