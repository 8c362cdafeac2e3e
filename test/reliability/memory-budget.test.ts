/**
 * Any API key used to be able to crash the server: parallel maximum-size creates with inline
 * images ran it out of heap. Here the real server runs as its own process with `npm start`'s heap
 * cap while it renders, and takes 16 parallel creates whose bodies fill the body limit (worst
 * case: a non-ASCII prompt makes V8 keep the body two bytes per character, and an
 * Idempotency-Key makes the handler fingerprint it). The process must live, every request must
 * get an HTTP answer (2xx, 4xx or 503 with Retry-After, never a cut connection), and the render
 * must complete.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { maximumCreateBody, postBody } from "../helpers/big-bodies.js";
import {
  mintKey,
  npmStartNodeArgs,
  type ServerProcess,
  spawnServer,
  waitHealthy,
} from "../helpers/process.js";
import { TERMINAL } from "../helpers/tasks.js";
import { pollUntil } from "../helpers/wait.js";

const ADMIN = "memory-budget-admin-token-0123456789";
const PARALLEL = 16;

let dir = "";
let server: ServerProcess | undefined;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "reelay-memory-"));
});
afterAll(async () => {
  await server?.kill("SIGKILL");
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function task(key: string, id: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${server?.url}/v1/video/query?id=${encodeURIComponent(id)}`, {
    headers: { authorization: `Bearer ${key}` },
  });
  return (await res.json()) as Record<string, unknown>;
}

it("16 parallel maximum-size creates during a render: the process lives and every request is answered", async () => {
  server = await spawnServer(
    {
      REELAY_DATA_DIR: join(dir, "data"),
      REELAY_ADMIN_TOKEN: ADMIN,
      REELAY_LOG_LEVEL: "warn",
      // On a busy machine 16 bodies read side by side can take longer than the default 30 s:
      // then the request timeout, not the memory bound, would be what answers them.
      REELAY_REQUEST_TIMEOUT_MS: "300000",
    },
    "all",
    { nodeArgs: await npmStartNodeArgs() },
  );
  const s = server;
  await waitHealthy(s, 120_000);
  const key = await mintKey(s, ADMIN);
  const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };

  const render = await fetch(`${s.url}/v1/video/create`, {
    method: "POST",
    headers,
    body: JSON.stringify({
      model: "sora-2-pro",
      prompt: "busy",
      orientation: "landscape",
      size: "large",
      duration: 15,
    }),
  });
  expect(render.status).toBe(200);
  const renderId = ((await render.json()) as { id: string }).id;
  const t = await pollUntil(
    () => task(key, renderId),
    (x) => x.status === "processing" && Number(x.progress) > 0,
    { what: "the render under way", timeoutMs: 60_000 },
  );
  expect(t.status).toBe("processing");

  const body = await maximumCreateBody(dir);
  const answers = await Promise.all(
    Array.from({ length: PARALLEL }, (_, i) =>
      postBody(`${s.url}/v1/video/create`, { ...headers, "idempotency-key": `big-${i}` }, body),
    ),
  );
  const exit = await Promise.race([s.exited, new Promise((r) => setTimeout(() => r("alive"), 500))]);
  expect(exit, s.output().slice(-2000)).toBe("alive");
  for (const a of answers) {
    expect(a.status === 503 || (a.status >= 200 && a.status < 500), JSON.stringify(a)).toBe(true);
    if (a.status === 503) expect(a).toMatchObject({ code: "server_busy", retryAfter: "1" });
  }

  expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
  const done = await pollUntil(
    () => task(key, renderId),
    (x) => (TERMINAL as readonly string[]).includes(String(x.status)),
    { what: "the render to end", timeoutMs: 300_000, intervalMs: 250 },
  );
  expect(done.status).toBe("completed");
}, 420_000);
