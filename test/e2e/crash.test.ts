/**
 * SIGKILL the server mid-render, start it again on the same data dir: every task still reaches
 * `completed`, with a real video.
 */
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ffprobe } from "../helpers/ffprobe.js";
import { mintKey, ServerGroup, type ServerProcess } from "../helpers/process.js";
import { TERMINAL } from "../helpers/tasks.js";
import { pollUntil } from "../helpers/wait.js";

const ADMIN = "crash-test-admin-token-0123456789";
const servers = new ServerGroup();
let dir = "";
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "reelay-crash-"));
});
afterAll(async () => {
  await servers.killAll();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const start = (name = "data"): Promise<ServerProcess> =>
  servers.start({
    REELAY_DATA_DIR: join(dir, name),
    REELAY_ADMIN_TOKEN: ADMIN,
    REELAY_WORKER_CONCURRENCY: "2",
  });

async function query(s: ServerProcess, key: string, id: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${s.url}/v1/video/query?id=${encodeURIComponent(id)}`, {
    headers: { authorization: `Bearer ${key}` },
  });
  return (await res.json()) as Record<string, unknown>;
}

it("SIGKILL mid-render, restart on the same data dir: every task completes", async () => {
  const first = await start();
  const key = await mintKey(first, ADMIN);
  const ids: string[] = [];
  for (const orientation of ["portrait", "landscape", "portrait"]) {
    const res = await fetch(`${first.url}/v1/video/create`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: "sora-2-pro",
        prompt: "crash me",
        orientation,
        size: "large",
        duration: 15,
      }),
    });
    expect(res.status).toBe(200);
    ids.push(((await res.json()) as { id: string }).id);
  }

  // Kill as soon as a render is under way (bounded wait).
  const midRender = await pollUntil(
    async () =>
      (await Promise.all(ids.map((id) => query(first, key, id)))).some(
        (t) => t.status === "processing" && Number(t.progress) > 0 && Number(t.progress) < 100,
      ),
    Boolean,
    { what: "a render under way", timeoutMs: 60_000 },
  );
  expect(midRender).toBe(true);
  expect(await first.kill("SIGKILL")).toBe("SIGKILL");

  const second = await start();
  expect(second.output()).toContain("re-queued jobs left running by a previous process");
  const final: Record<string, unknown>[] = [];
  for (const id of ids) {
    final.push(
      await pollUntil(
        () => query(second, key, id),
        (t) => (TERMINAL as readonly string[]).includes(String(t.status)),
        { what: `task ${id} to end`, timeoutMs: 170_000, intervalMs: 250 },
      ),
    );
  }
  expect(final.map((t) => t.status)).toEqual(["completed", "completed", "completed"]);
  for (const [i, t] of final.entries()) {
    const file = join(dir, `out-${i}.mp4`);
    await writeFile(file, Buffer.from(await (await fetch(String(t.video_url))).arrayBuffer()));
    const probe = await ffprobe(file);
    expect(probe.streams.find((s) => s.codecType === "video")?.codecName).toBe("h264");
    expect(Math.abs(probe.durationS - 15)).toBeLessThanOrEqual(0.2);
  }
  // No half-written results or scratch files were left behind.
  expect(await readdir(join(dir, "data", "tmp"))).toEqual([]);
}, 300_000);

it("SIGTERM mid-render hands the task back: the process exits 0, the next start finishes it, no attempt spent", async () => {
  const first = await start("graceful");
  const key = await mintKey(first, ADMIN);
  const res = await fetch(`${first.url}/v1/video/create`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({
      model: "sora-2-pro",
      prompt: "graceful",
      orientation: "portrait",
      size: "large",
      duration: 25,
    }),
  });
  const { id } = (await res.json()) as { id: string };
  const t = await pollUntil(
    () => query(first, key, id),
    (x) => x.status === "processing" && Number(x.progress) > 0,
    { what: "the render under way", timeoutMs: 30_000 },
  );
  expect(t.status).toBe("processing");
  expect(await first.kill("SIGTERM")).toBe(0);

  const second = await start("graceful");
  const done = await pollUntil(
    () => query(second, key, id),
    (x) => x.status === "completed" || x.status === "failed",
    { what: "the handed-back task to end", timeoutMs: 300_000, intervalMs: 250 },
  );
  expect(done.status).toBe("completed");
  expect((done.detail as { pending_info: { attempts: number } }).pending_info.attempts).toBe(1);
}, 300_000);
