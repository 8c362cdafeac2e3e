/** The `reelay` CLI as a user runs it: a separate process against a live server. */
import { execFile } from "node:child_process";
import { access, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errors } from "../../src/core/errors.js";
import { freePort, startTestApp, type TestApp } from "../helpers/app.js";
import { FAKE_VIDEO, FakeProvider } from "../helpers/fake-provider.js";
import { TINY_PNG } from "../helpers/images.js";
import { VOCAB_MODELS } from "../helpers/vocab-models.js";

const ROOT = resolve(import.meta.dirname, "../..");
let app: TestApp;
let dir: string;
let key: string;
let provider: FakeProvider;

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program as the user would, with only PATH and REELAY_URL from this environment. */
function exec(
  file: string,
  args: string[],
  opts: { cwd: string; env: Record<string, string>; timeoutMs?: number },
): Promise<Ran> {
  return new Promise((res) => {
    execFile(
      file,
      args,
      {
        cwd: opts.cwd,
        env: { PATH: process.env.PATH ?? "", REELAY_URL: app.url, ...opts.env },
        timeout: opts.timeoutMs ?? 120_000,
      },
      (error, stdout, stderr) =>
        res({ code: typeof error?.code === "number" ? error.code : error ? 99 : 0, stdout, stderr }),
    );
  });
}

/** The CLI from its TypeScript sources. */
function cli(args: string[], env: Record<string, string> = {}): Promise<Ran> {
  return exec(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], { cwd: ROOT, env });
}

beforeAll(async () => {
  provider = new FakeProvider();
  app = await startTestApp({ overrides: { provider } });
  dir = await mkdtemp(join(tmpdir(), "reelay-cli-"));
});
afterAll(async () => {
  await app.close();
  await rm(dir, { recursive: true, force: true });
});

describe("reelay keys", () => {
  it("create, ls, revoke with the admin token", async () => {
    const made = await cli(["keys", "create", "--user", "alice", "--name", "laptop", "--json"], {
      REELAY_ADMIN_TOKEN: app.adminToken,
    });
    expect(made.code).toBe(0);
    const k = JSON.parse(made.stdout) as { key: string; id: string; owner_id: string };
    expect(k.owner_id).toBe("alice");
    key = k.key;
    const ls = await cli(["keys", "ls", "--user", "alice"], { REELAY_ADMIN_TOKEN: app.adminToken });
    expect(ls.stdout).toContain(k.id);
    expect(ls.stdout).toContain("laptop");
    expect(ls.stdout).not.toContain(k.key);
    const spare = JSON.parse(
      (await cli(["keys", "create", "--json"], { REELAY_ADMIN_TOKEN: app.adminToken })).stdout,
    ) as { id: string; key: string };
    expect(
      (await cli(["keys", "revoke", spare.id], { REELAY_ADMIN_TOKEN: app.adminToken })).stdout,
    ).toContain("revoked");
    const refused = await cli(["ls"], { REELAY_API_KEY: spare.key });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain("revoked");
  });

  it("without the admin token: exit code 3 and a message", async () => {
    const r = await cli(["keys", "ls"]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("admin token");
  });
});

describe("reelay credits, usage, tasks (billing on)", () => {
  it("keys create --credits, credits add/show, usage and tasks ls --status", async () => {
    const cfgDir = await mkdtemp(join(tmpdir(), "reelay-cli-billing-"));
    const cfg = join(cfgDir, "reelay.json");
    await writeFile(cfg, JSON.stringify({ pricing: { perSecond: { "sora-2": 1 } } }));
    const billed = await startTestApp({
      env: { REELAY_CONFIG_FILE: cfg },
      overrides: { provider: new FakeProvider([{ error: errors.imageFetchFailed(0, "gone", false) }]) },
    });
    try {
      const env = { REELAY_URL: billed.url, REELAY_ADMIN_TOKEN: billed.adminToken };
      const made = JSON.parse(
        (await cli(["keys", "create", "--user", "bob", "--credits", "25", "--json"], env)).stdout,
      ) as {
        key: string;
        balance: number;
      };
      expect(made.balance).toBe(25);
      expect((await cli(["credits", "add", "bob", "5"], env)).stdout).toContain("balance 30");
      // --dry-run quotes: 10 s at 1 credit a second, covered, and nothing is created or charged.
      const quoted = await cli(["create", "--prompt", "priced", "--dry-run"], {
        ...env,
        REELAY_API_KEY: made.key,
      });
      expect(quoted.stdout).toContain("10 credits (per_second, 10 s); balance 30; channel");
      expect((await cli(["credits", "show", "bob", "--json"], env)).stdout).toContain('"balance": 30');
      const failed = await cli(["create", "--prompt", "fails", "--wait", "--json"], {
        ...env,
        REELAY_API_KEY: made.key,
      });
      expect(failed.code).toBe(1);
      const ok = await cli(["create", "--prompt", "works", "--wait", "--json"], {
        ...env,
        REELAY_API_KEY: made.key,
      });
      expect(ok.code).toBe(0);
      expect((await cli(["credits", "show", "bob", "--json"], env)).stdout).toContain('"balance": 20');
      const usage = JSON.parse(
        (await cli(["usage", "--json"], { ...env, REELAY_API_KEY: made.key })).stdout,
      ) as {
        data: { charged: number; refunded: number }[];
      };
      expect(usage.data.reduce((s, r) => s + r.charged - r.refunded, 0)).toBe(10);
      // The user's own list filters on the server: the newest task is completed, yet one failed
      // task comes back with --limit 1 (and the OpenAI name of a status works too).
      const mine = { ...env, REELAY_API_KEY: made.key };
      const failedOnly = JSON.parse(
        (await cli(["ls", "--status", "failed", "--limit", "1", "--json"], mine)).stdout,
      ) as {
        id: string;
        status: string;
      }[];
      expect(failedOnly.map((t) => t.status)).toEqual(["failed"]);
      expect(failedOnly[0]?.id).toBe((JSON.parse(failed.stdout) as { id: string }).id);
      const newest = JSON.parse((await cli(["ls", "--limit", "1", "--json"], mine)).stdout) as {
        status: string;
      }[];
      expect(newest.map((t) => t.status)).toEqual(["completed"]);
      expect((await cli(["ls", "--status", "in_progress", "--json"], mine)).stdout.trim()).toBe("[]");
      const bad = await cli(["ls", "--status", "done"], mine);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain("pending, processing, completed, failed, cancelled");
      const ls = await cli(["tasks", "ls", "--status", "failed", "--user", "bob"], env);
      expect(ls.stdout.split("\n").filter((l) => l.includes("failed"))).toHaveLength(1);
      expect(ls.stdout).toContain("image_fetch_failed");
    } finally {
      await billed.close();
      await rm(cfgDir, { recursive: true, force: true });
    }
  });
});

describe("reelay create / status / ls / download", () => {
  it("create --wait --out saves the video; status and ls show it", async () => {
    const out = join(dir, "clip.mp4");
    const r = await cli(
      ["create", "--prompt", "a red kite", "--duration", "10", "--wait", "--out", out, "--json"],
      { REELAY_API_KEY: key },
    );
    expect(r.code).toBe(0);
    const task = JSON.parse(r.stdout) as { id: string; status: string; saved_to: string };
    expect(task).toMatchObject({ status: "completed", saved_to: out });
    expect((await readFile(out)).equals(FAKE_VIDEO)).toBe(true);

    const st = await cli(["status", task.id, "--json"], { REELAY_API_KEY: key });
    expect(JSON.parse(st.stdout)).toMatchObject({ id: task.id, status: "completed", progress: 100 });
    const ls = await cli(["ls"], { REELAY_API_KEY: key });
    expect(ls.stdout).toContain(task.id);
    expect(ls.stdout.split("\n")[0]).toMatch(/^ID\s+STATUS/);
    const thumb = join(dir, "t.jpg");
    const dl = await cli(["download", task.id, "--variant", "thumbnail", "--out", thumb], {
      REELAY_API_KEY: key,
    });
    expect(dl.code).toBe(0);
    expect((await readFile(thumb)).toString()).toBe("thumb");
    // Cancelling a finished task is refused: exit code 2.
    expect((await cli(["cancel", task.id], { REELAY_API_KEY: key })).code).toBe(2);
  });

  it("--image takes a local file (sent inline) as well as a link", async () => {
    const png = join(dir, "frame.png");
    await writeFile(png, TINY_PNG);
    const r = await cli(
      [
        "create",
        "--prompt",
        "from a file",
        "--image",
        png,
        "--image",
        "https://example.com/b.png",
        "--wait",
        "--json",
      ],
      { REELAY_API_KEY: key },
    );
    expect(r.code).toBe(0);
    expect(provider.files.at(-1)?.imageFiles).toHaveLength(1);
    expect(provider.requests.at(-1)?.images).toEqual(["https://example.com/b.png"]);
    const wrongType = await cli(["create", "--prompt", "x", "--image", join(dir, "nope.txt")], {
      REELAY_API_KEY: key,
    });
    expect(wrongType.code).toBe(2);
    expect(wrongType.stderr).toContain("nope.txt");
    const missing = await cli(["create", "--prompt", "x", "--image", join(dir, "missing.png")], {
      REELAY_API_KEY: key,
    });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("missing.png");
  });

  it("exit codes say what failed", async () => {
    const bad = await cli(["create", "--prompt", "x", "--duration", "12"], { REELAY_API_KEY: key });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("duration");
    expect(
      (await cli(["status", "sora-2:task_01k9009g8ef1esae6388chgcpx"], { REELAY_API_KEY: key })).code,
    ).toBe(4);
    expect((await cli(["ls"], { REELAY_API_KEY: "rl-wrong" })).code).toBe(3);
    expect((await cli(["ls"], { REELAY_API_KEY: key, REELAY_URL: "http://127.0.0.1:9" })).code).toBe(5);
    expect((await cli(["create"], { REELAY_API_KEY: key })).code).toBe(2);
  });
});

describe("reelay storyboard", () => {
  it("--dry-run prices a JSON storyboard; --out waits for the film and saves it; a bad file exits 2", async () => {
    const png = join(dir, "opening.png");
    await writeFile(png, TINY_PNG);
    const file = join(dir, "board.json");
    await writeFile(
      file,
      JSON.stringify({
        model: "sora-2",
        orientation: "landscape",
        size: "small",
        shots: [
          { prompt: "the opening", duration: 10, images: [png] },
          { prompt: "the ending", duration: 10, transition: "crossfade" },
        ],
      }),
    );
    const quote = await cli(["storyboard", file, "--dry-run", "--json"], { REELAY_API_KEY: key });
    expect(quote.code, quote.stderr).toBe(0);
    expect(JSON.parse(quote.stdout)).toMatchObject({
      object: "storyboard.quote",
      price: null,
      shots: [{}, {}],
    });

    // The join reads real videos: this provider makes them for this test.
    provider.realMedia = true;
    try {
      const out = join(dir, "film.mp4");
      const r = await cli(["storyboard", file, "--out", out, "--json"], { REELAY_API_KEY: key });
      expect(r.code, r.stderr).toBe(0);
      const film = JSON.parse(r.stdout) as { id: string; duration: number; saved_to: string };
      expect(film).toMatchObject({ status: "completed", duration: 19.5, saved_to: out });
      expect(film.id).toMatch(/^storyboard:task_/);
      expect((await readFile(out)).subarray(4, 8).toString()).toBe("ftyp");
      // The first shot's image went inline, as a stored upload of that shot.
      const first = provider.requests.find((q) => q.shotOf?.index === 0);
      expect(first?.imageKeys).toHaveLength(1);
    } finally {
      provider.realMedia = false;
    }
    await writeFile(file, "{ not json");
    expect((await cli(["storyboard", file], { REELAY_API_KEY: key })).code).toBe(2);
    await writeFile(
      file,
      JSON.stringify({
        shots: [{ prompt: "x", duration: 3, model: "sora-2" }],
        orientation: "landscape",
        size: "small",
      }),
    );
    const refused = await cli(["storyboard", file], { REELAY_API_KEY: key });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("shots[0].duration");
  });
});

describe("reelay models and the additions' flags", () => {
  it("models shows each model's capabilities; create sends the additions; a refusal names the field", async () => {
    const cfgDir = await mkdtemp(join(tmpdir(), "reelay-cli-vocab-"));
    const cfg = join(cfgDir, "reelay.json");
    await writeFile(cfg, JSON.stringify({ models: VOCAB_MODELS }));
    const server = await startTestApp({
      env: { REELAY_CONFIG_FILE: cfg },
      overrides: { provider: new FakeProvider() },
    });
    try {
      const env = { REELAY_URL: server.url, REELAY_API_KEY: await server.newKey() };
      const human = await cli(["models"], env);
      expect(human.code).toBe(0);
      const row = human.stdout.split("\n").find((l) => l.startsWith("vocab-full"));
      expect(row).toContain("16:9,9:16,1:1");
      expect(row).toContain("480p,720p,1080p");
      expect(row).toContain("first+last+refs<=3");
      expect(row).toContain("seed negative-prompt audio:optional");
      const json = JSON.parse((await cli(["models", "--json"], env)).stdout) as {
        id: string;
        capabilities: Record<string, unknown>;
      }[];
      expect(json.find((m) => m.id === "vocab-veo")?.capabilities).toMatchObject({
        audio: "always",
        seed: false,
      });

      const png = join(cfgDir, "frame.png");
      await writeFile(png, TINY_PNG);
      const made = await cli(
        [
          "create",
          "--model",
          "vocab-full",
          "--prompt",
          "flags",
          "--duration",
          "1",
          "--aspect-ratio",
          "1:1",
          "--resolution",
          "720p",
          "--seed",
          "5",
          "--no-audio",
          "--negative-prompt",
          "blur",
          "--last-frame",
          png,
          "--reference-image",
          png,
          "--json",
        ],
        env,
      );
      expect(made.code, made.stderr).toBe(0);
      const { id } = JSON.parse(made.stdout) as { id: string };
      const task = (await (
        await server.request(`/v1/video/query?id=${encodeURIComponent(id)}`, { key: env.REELAY_API_KEY })
      ).json()) as { detail: { input: Record<string, unknown> } };
      expect(task.detail.input).toMatchObject({
        aspect_ratio: "1:1",
        resolution: "720p",
        seed: 5,
        audio: false,
        negative_prompt: "blur",
        image_roles: ["last_frame", "reference"],
      });

      const refused = await cli(
        ["create", "--model", "vocab-veo", "--prompt", "x", "--duration", "4", "--seed", "1"],
        env,
      );
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain("seed");
    } finally {
      await server.close();
      await rm(cfgDir, { recursive: true, force: true });
    }
  });
});

describe("reelay as a user installs and runs it", () => {
  let home: string;
  let bin: string;
  let mine: string;

  beforeAll(async () => {
    // What `npm link` and global installs do: the built bin, behind a symlink in a bin directory.
    const build = await exec(process.execPath, ["scripts/build.mjs"], {
      cwd: ROOT,
      env: {},
      timeoutMs: 590_000,
    });
    expect(build.code, build.stderr).toBe(0);
    home = join(dir, "home");
    bin = join(dir, "bin");
    await mkdir(home);
    await mkdir(bin);
    await symlink(join(ROOT, "dist", "cli", "main.js"), join(bin, "reelay"));
    mine = await app.newKey();
  }, 600_000);

  const onPath = () => [bin, dirname(process.execPath), process.env.PATH ?? ""].join(delimiter);

  it("the linked bin runs; --out (relative to the cwd) waits and saves, a line per change without a TTY", async () => {
    const r = await exec("reelay", ["create", "--prompt", "through a link", "--out", "clip.mp4"], {
      cwd: home,
      env: { PATH: onPath(), REELAY_API_KEY: mine },
    });
    expect(r.code, r.stderr).toBe(0);
    expect((await readFile(join(home, "clip.mp4"))).equals(FAKE_VIDEO)).toBe(true);
    expect(r.stdout).toContain(`completed → ${join(home, "clip.mp4")}`);
    const lines = r.stderr.trim().split("\n");
    expect(lines.at(-1)).toMatch(/^sora-2:task_\w+ completed 100%$/);
    // One line per change, never the same line twice in a row.
    expect(lines.every((l, i) => l !== lines[i - 1])).toBe(true);
  });

  it("npm run cli saves a relative --out in the directory npm was run from", async () => {
    const r = await exec(
      "npm",
      ["--prefix", ROOT, "run", "-s", "cli", "--", "create", "--prompt", "from npm", "--out", "npm-clip.mp4"],
      { cwd: home, env: { PATH: onPath(), HOME: home, REELAY_API_KEY: mine } },
    );
    expect(r.code, r.stderr).toBe(0);
    expect((await readFile(join(home, "npm-clip.mp4"))).equals(FAKE_VIDEO)).toBe(true);
    await expect(access(join(ROOT, "npm-clip.mp4"))).rejects.toThrow();
  });

  it("an unreachable server is named with its URL; a missing key names REELAY_API_KEY", async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const down = await exec("reelay", ["ls"], {
      cwd: home,
      env: { PATH: onPath(), REELAY_URL: closed, REELAY_API_KEY: mine },
    });
    expect(down.code).toBe(5);
    expect(down.stderr).toContain(`cannot reach Reelay at ${closed} (ECONNREFUSED)`);
    expect(down.stderr).toContain("REELAY_URL");
    const noKey = await exec("reelay", ["status", "sora-2:task_01k9009g8ef1esae6388chgcpx"], {
      cwd: home,
      env: { PATH: onPath() },
    });
    expect(noKey.code).toBe(3);
    expect(noKey.stderr).toContain("REELAY_API_KEY is not set");
    expect(noKey.stderr).not.toMatch(/header/i);
  });
});
