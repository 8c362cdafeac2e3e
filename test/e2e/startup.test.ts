/** Start-up as a user sees it: config errors, the generated admin token, the data-dir lock, the scale-out roles. */

import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { type ServerProcess, spawnServer, waitHealthy } from "../helpers/process.js";

const dirs: string[] = [];
const servers: ServerProcess[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.kill("SIGKILL")));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function dataDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "reelay-start-"));
  dirs.push(d);
  return d;
}

async function run(env: Record<string, string>): Promise<ServerProcess> {
  const s = await spawnServer(env);
  servers.push(s);
  return s;
}

describe("configuration errors stop start-up and name the variable", () => {
  it.each([
    [{ PORT: "eighty" }, "PORT"],
    [{ REELAY_PUBLIC_URL: "ftp://example.com" }, "REELAY_PUBLIC_URL"],
    [{ REELAY_ADMIN_TOKEN: "short" }, "REELAY_ADMIN_TOKEN"],
    [{ REELAY_WORKER_CONCURRENCY: "-1" }, "REELAY_WORKER_CONCURRENCY"],
    [{ REELAY_LOG_LEVEL: "loud" }, "REELAY_LOG_LEVEL"],
  ])("%o", async (env, name) => {
    const s = await run({ REELAY_DATA_DIR: await dataDir(), ...env });
    expect(await s.exited).toBe(78);
    expect(s.output()).toContain(`reelay: Invalid ${name}=`);
  });

  it("a config file with a bad model entry names the file and the field", async () => {
    const dir = await dataDir();
    const file = join(dir, "reelay.json");
    await writeFile(
      file,
      JSON.stringify({ models: [{ name: "m", family: "m", sizes: ["huge"], durations: [5], maxImages: 1 }] }),
    );
    const s = await run({ REELAY_DATA_DIR: dir, REELAY_CONFIG_FILE: file });
    expect(await s.exited).toBe(78);
    expect(s.output()).toContain(file);
    expect(s.output()).toContain("models.0.sizes.0");
  });
});

describe("first start without REELAY_ADMIN_TOKEN", () => {
  it("writes a token file (0600), logs its path but never the token, and the token works", async () => {
    const dir = await dataDir();
    const s = await run({ REELAY_DATA_DIR: dir });
    await waitHealthy(s);
    const file = join(dir, "admin-token");
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const token = (await readFile(file, "utf8")).trim();
    expect(token.length).toBeGreaterThanOrEqual(40);
    expect(s.output()).toContain(file);
    expect(s.output()).not.toContain(token);
    const res = await fetch(`${s.url}/admin/keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(201);
    const { key } = (await res.json()) as { key: string };
    expect(s.output()).not.toContain(key);

    // A restart keeps the same token.
    await s.kill("SIGTERM");
    const again = await run({ REELAY_DATA_DIR: dir });
    await waitHealthy(again);
    expect((await readFile(file, "utf8")).trim()).toBe(token);
    expect(again.output()).not.toContain(token);
  });
});

describe("npm start", () => {
  const root = resolve(import.meta.dirname, "../..");
  const mtime = async (file: string) => (await stat(join(root, file))).mtimeMs;

  it("builds once; a start with nothing changed runs no build", async () => {
    // The first start (or npm ci's prepare) builds; run that step alone so this start has nothing to do.
    await promisify(execFile)(process.execPath, ["scripts/build.mjs"], { cwd: root, timeout: 600_000 });
    const before = [await mtime("dist/.build-stamp"), await mtime("dist/main/serve.js")];
    const s = await spawnServer({ REELAY_DATA_DIR: await dataDir(), HOME: await dataDir() }, "all", {
      command: ["npm", "start"],
    });
    servers.push(s);
    await waitHealthy(s, 120_000);
    expect([await mtime("dist/.build-stamp"), await mtime("dist/main/serve.js")]).toEqual(before);
    expect(s.output()).not.toContain("building dist/");
    expect(s.output()).toContain("reelay is ready");
  }, 600_000);
});

describe("the port is taken", () => {
  it("prints one line naming the port and PORT, no stack trace, and exits 75", async () => {
    const holder: Server = createServer();
    await new Promise<void>((res) => holder.listen(0, "127.0.0.1", res));
    try {
      const port = (holder.address() as { port: number }).port;
      const s = await run({ REELAY_DATA_DIR: await dataDir(), PORT: String(port) });
      expect(await s.exited).toBe(75);
      const lines = s
        .output()
        .split("\n")
        .filter((l) => l.startsWith("reelay: "));
      expect(lines).toEqual([
        `reelay: port ${port} on 127.0.0.1 is already in use by another process: stop it, or set PORT to a free port`,
      ]);
      expect(s.output()).not.toMatch(/^\s+at /m);
      expect(s.output()).not.toContain("EADDRINUSE");
    } finally {
      await new Promise((res) => holder.close(res));
    }
  });
});

describe("the data dir is locked", () => {
  it("a second process on the same data dir refuses to start with a clear error", async () => {
    const dir = await dataDir();
    const first = await run({ REELAY_DATA_DIR: dir });
    await waitHealthy(first);
    const second = await run({ REELAY_DATA_DIR: dir });
    expect(await second.exited).toBe(75);
    expect(second.output()).toContain(`The data dir ${dir} is in use by another Reelay process`);
    // The first one is unharmed.
    expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
  });

  it("the lock dies with its process: a SIGKILLed server's dir opens again at once", async () => {
    const dir = await dataDir();
    const first = await run({ REELAY_DATA_DIR: dir });
    await waitHealthy(first);
    await first.kill("SIGKILL");
    const second = await run({ REELAY_DATA_DIR: dir });
    await waitHealthy(second);
  });
});

describe("scale-out roles", () => {
  const shared = {
    REELAY_ADMIN_TOKEN: "startup-admin-token-0123456789",
    REELAY_SIGNING_SECRET: "startup-signing-secret-0123456789abcdef",
  };

  it.each(["serve", "worker"] as const)(
    "`%s` without a shared database exits 78 saying why",
    async (role) => {
      const s = await spawnServer({ REELAY_DATA_DIR: await dataDir() }, role);
      servers.push(s);
      expect(await s.exited).toBe(78);
      expect(s.output()).toContain("needs a shared database: set REELAY_DATABASE_URL");
    },
  );

  it("an unreachable database exits 75 naming host and port, never the password", async () => {
    // Port 1 on loopback: nothing listens there.
    const s = await spawnServer(
      {
        ...shared,
        REELAY_DATA_DIR: await dataDir(),
        REELAY_DATABASE_URL: "postgres://reelay:hunter2-password@127.0.0.1:1/reelay",
      },
      "serve",
    );
    servers.push(s);
    expect(await s.exited).toBe(75);
    expect(s.output()).toContain("cannot reach PostgreSQL at 127.0.0.1:1/reelay (REELAY_DATABASE_URL)");
    expect(s.output()).not.toContain("hunter2");
  });
});
