/**
 * Secrets never leave: the admin token, API keys and link signatures appear in no log line and in
 * no response after creation, nor at rest in the data dir. Also: the request id follows a task from the request into the worker.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { startUnifiedRelay } from "../emulators/unified-relay.js";
import { type ServerProcess, spawnServer, waitHealthy } from "../helpers/process.js";
import { pollUntil } from "../helpers/wait.js";
import { startWebhookReceiver, type WebhookReceiver } from "../helpers/webhook-receiver.js";

const ADMIN = "secrets-test-admin-token-0123456789";
let server: ServerProcess | undefined;
let dir = "";
let receiver: WebhookReceiver | undefined;
afterAll(async () => {
  await server?.kill("SIGKILL");
  await receiver?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

it("no secret appears in logs or later responses; the request id reaches the worker's log lines", async () => {
  dir = await mkdtemp(join(tmpdir(), "reelay-secrets-"));
  receiver = await startWebhookReceiver();
  server = await spawnServer({
    REELAY_DATA_DIR: dir,
    REELAY_ADMIN_TOKEN: ADMIN,
    REELAY_LOG_LEVEL: "debug",
    REELAY_ALLOW_HOSTS: receiver.host,
  });
  await waitHealthy(server);
  const base = server.url;
  const made = await fetch(`${base}/admin/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN}` },
  });
  const { key, id: keyId } = (await made.json()) as { key: string; id: string };
  const auth = { authorization: `Bearer ${key}`, "content-type": "application/json" };

  // Webhook secrets: an endpoint's, and the owner's callback secret.
  const hook = await fetch(`${base}/v1/webhooks`, {
    method: "POST",
    headers: auth,
    body: JSON.stringify({ url: `${receiver.url}/hook` }),
  });
  const hookSecret = ((await hook.json()) as { secret: string }).secret;
  receiver.secretFor("/hook", hookSecret);
  const cb = await fetch(`${base}/v1/webhooks/secret`, { method: "POST", headers: auth });
  const callbackSecret = ((await cb.json()) as { secret: string }).secret;
  receiver.secretFor("/cb", callbackSecret);

  const created = await fetch(`${base}/v1/video/create`, {
    method: "POST",
    headers: { ...auth, "x-request-id": "trace-create-1" },
    body: JSON.stringify({
      model: "sora-2",
      prompt: "secret keeping",
      orientation: "landscape",
      size: "small",
      duration: 10,
      callback_url: `${receiver.url}/cb`,
    }),
  });
  expect(created.headers.get("x-request-id")).toBe("trace-create-1");
  const { id } = (await created.json()) as { id: string };
  // A poll (answered beside the router, hot_reads.ts) leaves its one access-log line too.
  const polled = await fetch(`${base}/v1/video/query?id=${encodeURIComponent(id)}`, {
    headers: { ...auth, "x-request-id": "trace-query-1" },
  });
  expect(polled.headers.get("x-request-id")).toBe("trace-query-1");
  await polled.arrayBuffer();

  const task = await pollUntil(
    async () =>
      (await (
        await fetch(`${base}/v1/video/query?id=${encodeURIComponent(id)}`, { headers: auth })
      ).json()) as Record<string, unknown>,
    (t) => t.status === "completed" || t.status === "failed",
    { what: `task ${id} to end`, timeoutMs: 120_000, intervalMs: 200 },
  );
  expect(task.status).toBe("completed");
  const videoUrl = new URL(String(task.video_url));
  const sig = String(videoUrl.searchParams.get("sig"));
  expect((await fetch(videoUrl)).status).toBe(200);
  // The same link with its query key percent-encoded reads the same signature: logged redacted too.
  expect((await fetch(videoUrl.href.replace("sig=", "%73ig="))).status).toBe(200);
  // Failed attempts with things that look like secrets.
  const attempt = "rl-this-is-a-guessed-key-that-must-not-be-logged";
  expect((await fetch(`${base}/v1/videos`, { headers: { authorization: `Bearer ${attempt}` } })).status).toBe(
    401,
  );
  expect(
    (await fetch(`${base}/admin/keys`, { method: "POST", headers: { authorization: `Bearer ${attempt}x` } }))
      .status,
  ).toBe(401);
  const listing = await (await fetch(`${base}/v1/videos`, { headers: auth })).text();
  expect(listing).not.toContain(key);
  const hooks = await (await fetch(`${base}/v1/webhooks`, { headers: auth })).text();
  expect(hooks).not.toContain(hookSecret);
  // Both deliveries arrive, signed with their secrets, before the logs are searched for them.
  // (One event, so one webhook-id at both URLs: count answered requests, not de-duplicated events.)
  const answered = () => receiver?.received.filter((r) => r.status === 200).map((r) => r.path) ?? [];
  await pollUntil(
    () => answered().length,
    (n) => n >= 2,
    { what: "both deliveries", timeoutMs: 60_000 },
  );
  expect(answered().sort()).toEqual(["/cb", "/hook"]);

  await server.kill("SIGTERM");
  const logs = server.output();
  for (const secret of [ADMIN, key, sig, attempt, hookSecret, callbackSecret])
    expect(logs).not.toContain(secret);
  // Secrets go in base64; their distinctive part (after whsec_) must not show either.
  for (const secret of [hookSecret, callbackSecret]) expect(logs).not.toContain(secret.slice(6, 30));
  expect(logs).toContain(keyId);

  // At rest: no file in the data dir (the database, its WAL, the results) holds the API key or a
  // webhook signing secret (API keys are hashed; webhook secrets encrypted).
  const files = (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((f) => f.isFile())
    .map((f) => join(f.parentPath, f.name));
  expect(files.some((f) => f.endsWith("reelay.db"))).toBe(true);
  for (const f of files) {
    const bytes = await readFile(f);
    for (const secret of [
      key,
      hookSecret,
      callbackSecret,
      hookSecret.slice(6, 30),
      callbackSecret.slice(6, 30),
    ])
      expect(bytes.includes(Buffer.from(secret)), `${secret.slice(0, 10)}… in ${f}`).toBe(false);
  }

  // Every log line is JSON; the create request's id shows up in the worker's lines for the task.
  const lines = logs
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const traced = lines.filter((l) => l.reqId === "trace-create-1");
  // One access-log line per request, naming the key that made it (its id, never the key).
  const access = traced.filter((l) => l.msg === "request");
  expect(access).toHaveLength(1);
  expect(access[0]).toMatchObject({ method: "POST", url: "/v1/video/create", status: 200, keyId });
  expect(typeof access[0]?.ms).toBe("number");
  const poll = lines.filter((l) => l.reqId === "trace-query-1");
  expect(poll).toEqual([
    expect.objectContaining({
      msg: "request",
      method: "GET",
      url: `/v1/video/query?id=${encodeURIComponent(id)}`,
      status: 200,
      keyId,
    }),
  ]);
  expect(lines.filter((l) => l.msg === "incoming request" || l.msg === "request completed")).toEqual([]);
  expect(traced.some((l) => l.msg === "task completed" && l.taskId === id)).toBe(true);
});

it("an upstream channel's secret reaches only its upstream: never a log line or an admin response", async () => {
  const channelSecret = "upstream-channel-secret-9f8e7d6c5b4a";
  const relay = await startUnifiedRelay({ secret: channelSecret });
  relay.core.defaultBehaviour = { runMs: 300 };
  const cdir = await mkdtemp(join(tmpdir(), "reelay-secrets-ch-"));
  let proc: ServerProcess | undefined;
  try {
    const configFile = join(cdir, "reelay.json");
    await writeFile(
      configFile,
      JSON.stringify({
        channels: [
          { id: "up", kind: "unified", baseUrl: relay.url, secretEnv: "UP_SECRET", pollIntervalS: 0.1 },
        ],
      }),
    );
    proc = await spawnServer({
      REELAY_DATA_DIR: cdir,
      REELAY_ADMIN_TOKEN: ADMIN,
      REELAY_LOG_LEVEL: "debug",
      REELAY_CONFIG_FILE: configFile,
      REELAY_RETRY_BASE_MS: "50",
      UP_SECRET: channelSecret,
    });
    await waitHealthy(proc);
    const made = await fetch(`${proc.url}/admin/keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    const { key } = (await made.json()) as { key: string };
    // A refused create (logged as a warning) and then a served one.
    relay.core.fault("create", { kind: "status", status: 500 });
    const created = await fetch(`${proc.url}/v1/video/create`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: "sora-2",
        prompt: "keep it",
        orientation: "portrait",
        size: "small",
        duration: 10,
      }),
    });
    const { id } = (await created.json()) as { id: string };
    const server = proc;
    const status = await pollUntil(
      async () => {
        const q = await fetch(`${server.url}/v1/video/query?id=${encodeURIComponent(id)}`, {
          headers: { authorization: `Bearer ${key}` },
        });
        return ((await q.json()) as { status: string }).status;
      },
      (s) => s === "completed" || s === "failed",
      { what: `task ${id} to end`, timeoutMs: 30_000 },
    );
    expect(status).toBe("completed");
    const admin = { authorization: `Bearer ${ADMIN}` };
    const responses = await Promise.all(
      ["/admin/channels", "/admin/tasks", "/metrics", "/openapi.json"].map(async (p) =>
        (await fetch(`${proc?.url}${p}`, { headers: admin })).text(),
      ),
    );
    for (const body of responses) expect(body).not.toContain(channelSecret);
    expect(relay.core.requests.every((r) => r.auth === `Bearer ${channelSecret}`)).toBe(true);
    await proc.kill("SIGTERM");
    const logs = proc.output();
    expect(logs).toContain("failing over");
    expect(logs).not.toContain(channelSecret);
  } finally {
    await proc?.kill("SIGKILL");
    await relay.close();
    await rm(cdir, { recursive: true, force: true });
  }
});
