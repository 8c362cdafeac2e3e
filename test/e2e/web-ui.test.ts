/**
 * The web UI in a real headless Chromium against the running app and the real local renderer:
 * sign in, an inline error for a bad field, create a video with an uploaded image, watch it
 * render, play it, list it, see it in the gallery, manage keys as the admin, and a phone-width
 * layout. Screenshots go to a temp dir; `npm run screenshots` (REELAY_SCREENSHOTS_DIR=docs/screenshots)
 * refreshes the ones the README shows, so a test run never rewrites tracked files.
 */
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Browser, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveMediaTools } from "../../src/adapters/providers/local-renderer/media-tools.js";
import { startOpenAiVideos } from "../emulators/openai-videos.js";
import { startTestApp, type TestApp, waitForTask } from "../helpers/app.js";
import { launchBrowser } from "../helpers/browser.js";
import { channel, secretEnv, startWithChannels } from "../helpers/channels.js";
import { FakeProvider } from "../helpers/fake-provider.js";
import { makePng } from "../helpers/image-server.js";
import { VOCAB_MODELS } from "../helpers/vocab-models.js";

/*
 * The browser side of the evaluate() callbacks. The project type-checks without the DOM library
 * (its fetch types clash with Node's), so the few members those callbacks use are declared here.
 */
type Listener = (...args: unknown[]) => void;
interface Events {
  addEventListener(type: string, fn: Listener, opts?: { once: boolean }): void;
}
interface VideoEl extends Events {
  readyState: number;
  duration: number;
  error: { code: number } | null;
  muted: boolean;
  currentTime: number;
  videoWidth: number;
  videoHeight: number;
  play(): Promise<void>;
  pause(): void;
}
interface ImgEl extends Events {
  complete: boolean;
  naturalWidth: number;
  naturalHeight: number;
}
interface Rect {
  top: number;
  bottom: number;
  left: number;
  right: number;
  width: number;
  height: number;
}
interface BoxEl {
  getBoundingClientRect(): Rect;
  querySelector(selector: string): BoxEl | null;
  getAttribute(name: string): string | null;
}
declare const document: {
  querySelectorAll(selector: string): { length: number };
  documentElement: { scrollWidth: number };
};
declare const window: { innerWidth: number };

/** Where screenshots go: a temp dir, or REELAY_SCREENSHOTS_DIR (`npm run screenshots`: docs/screenshots). */
let shots: string;
/** The README's screenshots, tracked in git: a test run must leave them as they were. */
const README_SHOTS = join(import.meta.dirname, "..", "..", "docs", "screenshots");
let readmeShotsBefore: string;

let app: TestApp;
let key: string;
let browser: Browser;
let scratch: string;
let png: Buffer;
/** Every URL any page asked for: all must be loopback. */
const requested: string[] = [];

beforeAll(async () => {
  [app, browser, scratch] = await Promise.all([
    startTestApp(),
    launchBrowser(),
    mkdtemp(join(tmpdir(), "reelay-web-")),
  ]);
  key = await app.newKey();
  const tools = await resolveMediaTools({
    ffmpegPath: process.env.FFMPEG_PATH,
    ffprobePath: process.env.FFPROBE_PATH,
  });
  png = await makePng(tools.ffmpegPath, join(scratch, "upload.png"), "testsrc=size=640x360");
  shots = resolve(process.env.REELAY_SCREENSHOTS_DIR || join(scratch, "screenshots"));
  await mkdir(shots, { recursive: true });
  readmeShotsBefore = await fingerprint(README_SHOTS);
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await app?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/**
 * A page in a fresh context (its own sessionStorage). Contexts are left to `browser.close()`:
 * with the `--single-process` flag of @sparticuz/chromium's args, closing one takes the browser down.
 */
async function newPage(viewport = { width: 1280, height: 860 }): Promise<Page> {
  const ctx = await browser.newContext({ viewport, colorScheme: "light", acceptDownloads: false });
  const page = await ctx.newPage();
  page.on("request", (r) => requested.push(r.url()));
  return page;
}

async function signIn(page: Page, token: string) {
  await page.goto(`${app.url}/`);
  await page.getByLabel("API key").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** Each file of a directory with its size and modification time. */
async function fingerprint(dir: string): Promise<string> {
  const names = (await readdir(dir)).sort();
  const stats = await Promise.all(names.map((n) => stat(join(dir, n))));
  return names.map((n, i) => `${n} ${stats[i]?.size} ${stats[i]?.mtimeMs}`).join("\n");
}

/** Saves a screenshot for the README; `mask` covers what must not be published (a new key). */
const shot = (page: Page, name: string, opts: { fullPage?: boolean; mask?: Locator[] } = {}) =>
  page.screenshot({ path: join(shots, `${name}.png`), maskColor: "#c9ceda", ...opts });

/** The rendered box of a playing `<video>` and the video's own size, once its metadata is in. */
const playedBox = (video: Locator) =>
  video.evaluate(
    (v: VideoEl & BoxEl) =>
      new Promise<{ box: Rect; videoWidth: number; videoHeight: number }>((resolve, reject) => {
        const done = () =>
          resolve({ box: v.getBoundingClientRect(), videoWidth: v.videoWidth, videoHeight: v.videoHeight });
        if (v.readyState >= 1) return done();
        v.addEventListener("loadedmetadata", done, { once: true });
        v.addEventListener("error", () => reject(new Error(`media error ${v.error?.code}`)), { once: true });
      }),
  );

/**
 * Each gallery tile's media box and the empty space around it: under its content (from the bottom
 * of its text to the top of the nearest tile below it in the same columns), and right of the last
 * tile of each row but the last (to the gallery's right edge).
 */
const galleryLayout = (page: Page) =>
  page.locator("#gallery li[data-id]").evaluateAll((tiles: BoxEl[]) => {
    const gallery = (tiles[0] as unknown as { parentElement: BoxEl }).parentElement.getBoundingClientRect();
    const boxes = tiles.map((t) => ({
      id: t.getAttribute("data-id") ?? "",
      tile: t.getBoundingClientRect(),
      media: (t.querySelector(".tile-media, .tile-video") as BoxEl).getBoundingClientRect(),
      content: (t.querySelector(".tile-body") as BoxEl).getBoundingClientRect(),
    }));
    return boxes.map((b) => {
      const below = boxes
        .filter(
          (o) => o.tile.top >= b.tile.bottom && o.tile.left < b.tile.right && o.tile.right > b.tile.left,
        )
        .map((o) => o.tile.top);
      const lastOfRow = !boxes.some((o) => o.tile.top === b.tile.top && o.tile.left > b.tile.left);
      const lastRow = !boxes.some((o) => o.tile.top > b.tile.top);
      return {
        id: b.id,
        media: b.media,
        holeBelow: below.length ? Math.min(...below) - b.content.bottom : 0,
        holeRight: lastOfRow && !lastRow ? gallery.right - b.tile.right : 0,
      };
    });
  });

describe("web UI", () => {
  let page: Page;
  let taskId: string;

  beforeAll(async () => {
    page = await newPage();
  });

  it("is served at / with its assets from this server only", async () => {
    const res = await fetch(`${app.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
    const css = await fetch(`${app.url}/ui/style.css`);
    expect(css.status).toBe(200);
    expect(css.headers.get("content-type")).toMatch(/^text\/css/);
    const missing = await fetch(`${app.url}/ui/nope.js`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe("not_found");
  });

  it("refuses an unknown key inline, then signs in with a real one", async () => {
    await signIn(page, "rl-not-a-real-key");
    const err = page.locator("#signin-error");
    await err.waitFor({ state: "visible" });
    expect(await err.textContent()).toMatch(/not accepted/i);
    await shot(page, "sign-in");
    await page.getByLabel("API key").fill(key);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Create a video" }).waitFor();
    // The model list is the capability table's.
    await page.waitForFunction(() => document.querySelectorAll("#model option").length > 0);
    const models = await page.locator("#model option").allTextContents();
    expect(models).toEqual(expect.arrayContaining(["sora-2", "sora-2-pro"]));
  });

  it("shows a refused field's error next to that field", async () => {
    await page.getByLabel("Prompt").fill("   ");
    await page.getByRole("button", { name: "Create video" }).click();
    const err = page.locator("#err-prompt");
    await err.waitFor({ state: "visible" });
    expect(await err.textContent()).toMatch(/prompt/i);
    expect(await page.getByLabel("Prompt").getAttribute("aria-invalid")).toBe("true");
    expect(page.url()).not.toContain("#/task/");
  });

  it("creates a video from the playground and follows it to done", async () => {
    await page.getByLabel("Prompt").fill("A paper boat drifting across a pond at sunrise");
    await page.getByLabel("Model").selectOption("sora-2");
    await page.getByLabel("Orientation").selectOption("landscape");
    await page.getByLabel("Size").selectOption("small");
    await page.getByLabel("Duration").selectOption("10");
    await page
      .locator("#image-files")
      .setInputFiles({ name: "pond.png", mimeType: "image/png", buffer: png });
    await page.locator(".preview img").waitFor();
    await page.getByLabel("Accept a watermarked fallback").uncheck();
    expect(await page.locator("#err-prompt").isVisible()).toBe(false);
    await shot(page, "playground", { fullPage: true });
    await page.getByRole("button", { name: "Create video" }).click();
    await page.waitForURL(/#\/task\//);
    taskId = decodeURIComponent(page.url().split("#/task/")[1] ?? "");
    expect(taskId).toMatch(/^sora-2:task_[0-9a-z]{26}$/);
    // Progress is shown while it runs (the badge reads the task's live status).
    const badge = page.locator("#task .badge");
    await badge.waitFor();
    expect(["pending", "processing", "completed"]).toContain(await badge.getAttribute("data-status"));
    await page.locator('#task .badge[data-status="completed"]').waitFor({ timeout: 120_000 });

    const task = (await (
      await app.request(`/v1/video/query?id=${encodeURIComponent(taskId)}`, { key })
    ).json()) as {
      video_url: string;
      thumbnail_url: string;
      detail: { input: { images: string[]; watermark: boolean; orientation: string } };
    };
    expect(task.detail.input).toMatchObject({ watermark: false, orientation: "landscape" });
    // Download buttons point at the signed result links.
    const video = page.getByRole("link", { name: "Download video" });
    const href = (await video.getAttribute("href")) ?? "";
    expect(new URL(href).pathname).toBe(new URL(task.video_url).pathname);
    const file = await fetch(href);
    expect(file.headers.get("content-type")).toBe("video/mp4");
    await file.arrayBuffer();
    const thumb = (await page.getByRole("link", { name: "Download thumbnail" }).getAttribute("href")) ?? "";
    expect(new URL(thumb).pathname).toBe(new URL(task.thumbnail_url).pathname);
  });

  it("plays the finished video in the page", async () => {
    const player = page.locator("video#player");
    await player.waitFor();
    const duration = await player.evaluate(
      (v: VideoEl) =>
        new Promise<number>((resolve, reject) => {
          if (v.readyState >= 1) return resolve(v.duration);
          v.addEventListener("loadedmetadata", () => resolve(v.duration), { once: true });
          v.addEventListener("error", () => reject(new Error(`media error ${v.error?.code}`)), {
            once: true,
          });
        }),
    );
    expect(duration).toBeCloseTo(10, 0);
    // It decodes and plays (H.264): the playhead moves.
    const played = await player.evaluate(async (v: VideoEl) => {
      v.muted = true;
      await v.play();
      await new Promise((r) => v.addEventListener("timeupdate", r, { once: true }));
      await new Promise((r) => setTimeout(r, 300));
      v.pause();
      return { time: v.currentTime, width: v.videoWidth, height: v.videoHeight };
    });
    expect(played.time).toBeGreaterThan(0);
    expect(played).toMatchObject({ width: 1280, height: 720 });
    await player.evaluate((v: VideoEl) => {
      v.currentTime = 4;
    });
    await shot(page, "task-done");
  });

  it("lists my videos, filtered by status", async () => {
    await page.getByRole("link", { name: "My videos" }).first().click();
    const row = page.locator(`#task-list li[data-id="${taskId}"]`);
    await row.waitFor();
    expect(await row.locator(".badge").getAttribute("data-status")).toBe("completed");
    await page.getByLabel("Filter by status").selectOption("failed");
    await page.locator("#task-list .empty").waitFor();
    expect(await row.count()).toBe(0);
    await page.getByLabel("Filter by status").selectOption("completed");
    await row.waitFor();
    await row
      .locator("img")
      .evaluate((img: ImgEl) =>
        img.complete ? null : new Promise((r) => img.addEventListener("load", r, { once: true })),
      );
    await shot(page, "my-videos");
  });

  it("shows the published video in the public gallery with its thumbnail", async () => {
    await page.getByRole("link", { name: "Gallery" }).first().click();
    const tile = page.locator(`#gallery li[data-id="${taskId}"]`);
    await tile.waitFor();
    const size = await tile.locator("img").evaluate((img: ImgEl) =>
      img.complete
        ? { w: img.naturalWidth, h: img.naturalHeight }
        : new Promise<{ w: number; h: number }>((r) =>
            img.addEventListener("load", () => r({ w: img.naturalWidth, h: img.naturalHeight }), {
              once: true,
            }),
          ),
    );
    expect(size.w).toBeGreaterThan(0);
    expect(size.w).toBeGreaterThan(size.h);
    await shot(page, "gallery");
  });

  it("plays gallery videos in place at their own aspect ratio, landscape next to portrait", async () => {
    const res = await app.request("/v1/video/create", {
      key,
      body: {
        model: "sora-2",
        prompt: "A tall lighthouse",
        orientation: "portrait",
        size: "small",
        duration: 10,
      },
    });
    const portraitId = ((await res.json()) as { id: string }).id;
    expect((await waitForTask(app, key, portraitId)).status).toBe("completed");
    await page.getByRole("link", { name: "My videos" }).first().click();
    await page.getByRole("link", { name: "Gallery" }).first().click();
    for (const [id, width, height] of [
      [taskId, 1280, 720],
      [portraitId, 720, 1280],
    ] as const) {
      const tile = page.locator(`#gallery li[data-id="${id}"]`);
      await tile.locator(".tile-media").click();
      const played = await playedBox(tile.locator("video"));
      expect(played).toMatchObject({ videoWidth: width, videoHeight: height });
      // The box has the video's shape: nothing is cropped away.
      expect(played.box.width / played.box.height).toBeCloseTo(width / height, 2);
    }
  });

  it("shows the API's status words in my videos and on a task's page", async () => {
    await page.getByRole("link", { name: "My videos" }).first().click();
    await page.getByLabel("Filter by status").selectOption("");
    const rows = page.locator("#task-list li[data-id]");
    await rows.first().waitFor();
    const api = (await (await app.request("/v1/video/list?limit=100", { key })).json()) as {
      data: { id: string; status: string }[];
    };
    const shown = await rows.evaluateAll((lis: BoxEl[]) =>
      lis.map((li) => ({
        id: li.getAttribute("data-id"),
        status: (li.querySelector(".badge") as unknown as { innerText: string }).innerText,
      })),
    );
    expect(shown.length).toBeGreaterThan(0);
    for (const row of shown) expect(row.status).toBe(api.data.find((t) => t.id === row.id)?.status);
    // The filter offers the same words the API takes.
    expect(await page.locator("#status-filter option").allInnerTexts()).toEqual([
      "All statuses",
      "pending",
      "processing",
      "completed",
      "failed",
      "cancelled",
    ]);
    await page.goto(`${app.url}/#/task/${encodeURIComponent(taskId)}`);
    await page.locator("#task .badge").waitFor();
    expect(await page.locator("#task .badge").innerText()).toBe("completed");
    await page.getByRole("link", { name: "Gallery" }).first().click();
    await page.locator(`#gallery li[data-id="${taskId}"]`).waitFor();
  });

  it("remixes a gallery video into a new task of mine", async () => {
    const tile = page.locator(`#gallery li[data-id="${taskId}"]`);
    await tile.getByRole("button", { name: "Remix" }).click();
    await tile.getByLabel("Remix prompt").fill("The same pond at night");
    await tile.getByRole("button", { name: "Remix" }).click();
    await page.waitForURL(
      (u) => u.hash.startsWith("#/task/") && !u.hash.includes(encodeURIComponent(taskId)),
    );
    await page.getByRole("link", { name: taskId }).waitFor();
    await page.locator('#task .badge[data-status="completed"]').waitFor({ timeout: 120_000 });
    const remixId = decodeURIComponent(page.url().split("#/task/")[1] ?? "");
    const res = await app.request(`/v1/video/query?id=${encodeURIComponent(remixId)}`, { key });
    expect(await res.json()).toMatchObject({ remixed_from: taskId, status: "completed" });
  });

  it("lets the admin token see keys, make one and top up a balance", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn(page, app.adminToken);
    await page.getByRole("heading", { name: "Keys & balances" }).waitFor();
    await page.locator("#keys tr[data-key]").first().waitFor();
    const owners = page.locator("#owners li[data-owner]");
    await owners.first().waitFor();
    await page.getByLabel("Name").fill("phone app");
    await page.getByRole("button", { name: "Create key" }).click();
    const secret = page.locator("#new-key");
    await secret.waitFor();
    const newKey = (await secret.textContent()) ?? "";
    expect((await app.request("/v1/models", { key: newKey })).status).toBe(200);
    await page.locator("#keys tr[data-key]").nth(1).waitFor();
    const owner = page.locator("#owners li[data-owner]").first();
    const ownerId = (await owner.getAttribute("data-owner")) ?? "";
    await owner.locator(".balance").filter({ hasText: "credits left" }).waitFor();
    await owner.getByRole("spinbutton").fill("250");
    await owner.getByRole("button", { name: "Top up" }).click();
    await owner.locator(".balance").filter({ hasText: "250 credits left" }).waitFor();
    const account = (await (
      await app.request(`/admin/accounts/${encodeURIComponent(ownerId)}`, { key: app.adminToken })
    ).json()) as { balance: number };
    expect(account.balance).toBe(250);
    await shot(page, "admin", { mask: [secret] });
  });
});

describe("web UI with billing on", () => {
  let billed: TestApp;
  beforeAll(async () => {
    const cfg = join(scratch, "billing.json");
    await writeFile(cfg, JSON.stringify({ pricing: { perTask: [{ model: "sora-2", credits: 7 }] } }));
    billed = await startTestApp({
      env: { REELAY_CONFIG_FILE: cfg },
      overrides: { provider: new FakeProvider() },
    });
  });
  afterAll(() => billed?.close());

  it("shows the signed-in owner's balance, and the charge after a create", async () => {
    const page = await newPage();
    const owner = `web-billing-${Date.now()}`;
    const billedKey = await billed.newKey(owner);
    await billed.request(`/admin/accounts/${owner}/credits`, {
      key: billed.adminToken,
      body: { amount: 100 },
    });
    await page.goto(`${billed.url}/`);
    await page.getByLabel("API key").fill(billedKey);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator("#balance").filter({ hasText: "100 credits" }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll("#duration option").length > 0);
    await page.getByLabel("Prompt").fill("A paid clip");
    await page.getByRole("button", { name: "Create video" }).click();
    await page.locator("#balance").filter({ hasText: "93 credits" }).waitFor();
    // The task's page shows its hold, then what it cost once settled.
    await page.waitForURL((u) => u.hash.startsWith("#/task/"));
    await page.locator('#task .badge[data-status="completed"]').waitFor({ timeout: 120_000 });
    await page.locator("#task-cost").filter({ hasText: "7 credits charged" }).waitFor();
    expect(await page.locator("#task-cost").innerText()).toMatch(/^7 credits charged for \d+ s of 7 held$/);
  });

  it("shows no balance where billing is off", async () => {
    const page = await newPage();
    // The page asks, hears billing is off, and keeps the chip hidden.
    const asked = page.waitForResponse((r) => r.url().endsWith("/v1/usage"));
    await signIn(page, key);
    const usage = (await (await asked).json()) as { billing: boolean };
    expect(usage.billing).toBe(false);
    await page.locator("#who").waitFor();
    expect(await page.locator("#balance").isHidden()).toBe(true);
  });
});

describe("web UI create form follows the chosen model's capabilities", () => {
  let vocab: TestApp;
  beforeAll(async () => {
    const cfg = join(scratch, "vocab.json");
    await writeFile(cfg, JSON.stringify({ models: VOCAB_MODELS }));
    vocab = await startTestApp({
      env: { REELAY_CONFIG_FILE: cfg },
      overrides: { provider: new FakeProvider() },
    });
  });
  afterAll(() => vocab?.close());

  const optionsOf = (page: Page, id: string) =>
    page
      .locator(`#${id} option`)
      .evaluateAll((os) => os.map((o) => (o as unknown as { value: string }).value));
  const shown = async (page: Page, param: string) =>
    !(await page.locator(`[data-field="${param}"]`).isHidden());

  it("switching the model changes the offered controls; a create with additions reaches the task", async () => {
    const page = await newPage();
    const vocabKey = await vocab.newKey();
    await page.goto(`${vocab.url}/`);
    await page.getByLabel("API key").fill(vocabKey);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForFunction(() => document.querySelectorAll("#duration option").length > 0);

    // sora-2 takes only the seed's fields: none of the additions is offered.
    await page.locator("#model").selectOption("sora-2");
    for (const p of [
      "aspect_ratio",
      "resolution",
      "last_frame",
      "reference_images",
      "seed",
      "negative_prompt",
      "audio",
    ])
      expect(await shown(page, p), p).toBe(false);

    await page.locator("#model").selectOption("vocab-veo");
    expect(await optionsOf(page, "duration")).toEqual(["4", "6", "8"]);
    expect(await optionsOf(page, "aspect-ratio")).toEqual(["", "16:9", "9:16"]);
    expect(await optionsOf(page, "resolution")).toEqual(["", "720p", "1080p"]);
    expect(await shown(page, "aspect_ratio")).toBe(true);
    // Always sound, no seed, no last frame, no references, no negative prompt.
    for (const p of ["last_frame", "reference_images", "seed", "negative_prompt", "audio"])
      expect(await shown(page, p), p).toBe(false);

    await page.locator("#model").selectOption("vocab-full");
    expect(await optionsOf(page, "duration")).toEqual(["1", "2"]);
    expect(await optionsOf(page, "aspect-ratio")).toEqual(["", "16:9", "9:16", "1:1"]);
    for (const p of ["last_frame", "reference_images", "seed", "negative_prompt", "audio"])
      expect(await shown(page, p), p).toBe(true);
    expect(await page.locator('[data-field="reference_images"] .hint').textContent()).toContain("Up to 3");

    await page.getByLabel("Prompt").fill("A square harbour");
    await page.locator("#aspect-ratio").selectOption("1:1");
    await page.locator("#resolution").selectOption("480p");
    await page.locator("#seed").fill("11");
    await page.locator("#negative-prompt").fill("fog");
    await page.locator("#audio").check();
    await page
      .locator("#last-frame-file")
      .setInputFiles({ name: "end.png", mimeType: "image/png", buffer: png });
    await page.getByRole("button", { name: "Create video" }).click();
    await page.waitForURL(/#\/task\//);
    const id = decodeURIComponent(new URL(page.url()).hash.replace(/^#\/task\//, ""));
    const task = (await (
      await vocab.request(`/v1/video/query?id=${encodeURIComponent(id)}`, { key: vocabKey })
    ).json()) as { detail: { input: Record<string, unknown> } };
    expect(task.detail.input).toMatchObject({
      aspect_ratio: "1:1",
      resolution: "480p",
      seed: 11,
      negative_prompt: "fog",
      audio: true,
      image_roles: ["last_frame"],
    });
  });

  it("a refused addition shows its error next to its field", async () => {
    const page = await newPage();
    const vocabKey = await vocab.newKey();
    await page.goto(`${vocab.url}/`);
    await page.getByLabel("API key").fill(vocabKey);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForFunction(() => document.querySelectorAll("#duration option").length > 0);
    await page.locator("#model").selectOption("vocab-full");
    await page.getByLabel("Prompt").fill("Too far");
    await page.locator("#orientation").selectOption("landscape");
    await page.locator("#aspect-ratio").selectOption("9:16");
    // The form sends the aspect ratio instead of the orientation; a seed beyond the range is refused.
    await page.locator("#seed").fill("4294967296");
    await page.getByRole("button", { name: "Create video" }).click();
    await page.locator("#err-seed").filter({ hasText: "seed" }).waitFor();
  });
});

describe("web UI with a render that is still running", () => {
  let slow: TestApp;
  beforeAll(async () => {
    slow = await startTestApp({ overrides: { provider: new FakeProvider(["hang"]) } });
  });
  afterAll(() => slow?.close());

  it("shows live progress and cancels from the task page", async () => {
    const page = await newPage();
    const slowKey = await slow.newKey();
    const asked: string[] = [];
    page.on("request", (r) => asked.push(new URL(r.url()).pathname));
    await page.goto(`${slow.url}/`);
    await page.getByLabel("API key").fill(slowKey);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForFunction(() => document.querySelectorAll("#duration option").length > 0);
    await page.getByLabel("Prompt").fill("A long slow pan over a mountain ridge");
    await page.getByRole("button", { name: "Create video" }).click();
    // The provider reports half way, then waits: the page shows it.
    await page.locator("#progress-text").filter({ hasText: "50%" }).waitFor();
    expect(await page.locator("#task .badge").getAttribute("data-status")).toBe("processing");
    await shot(page, "task-progress");
    await page.getByRole("button", { name: "Cancel" }).click();
    await page.locator('#task .badge[data-status="cancelled"]').waitFor();
    expect(await page.locator("#progress").count()).toBe(0);
    // The page followed the task's event stream, and never polled the query.
    expect(asked).toContain("/v1/video/events");
    expect(asked).not.toContain("/v1/video/query");
    await page.getByRole("link", { name: "My videos" }).first().click();
    await page.getByLabel("Filter by status").selectOption("cancelled");
    await page.locator('#task-list li[data-id] .badge[data-status="cancelled"]').waitFor();
  });
  it("pages through my videos, and shows prompts as text, never as markup", async () => {
    const page = await newPage();
    const pagerKey = await slow.newKey();
    const prompts = Array.from({ length: 13 }, (_, i) => `clip ${i + 1}`);
    prompts[12] = '<img src=x onerror="document.title=1">clip 13';
    for (const prompt of prompts) {
      const res = await slow.request("/v1/video/create", {
        key: pagerKey,
        body: { model: "sora-2", prompt, orientation: "portrait", size: "small", duration: 10 },
      });
      expect(res.status).toBe(200);
    }
    await page.goto(`${slow.url}/`);
    await page.getByLabel("API key").fill(pagerKey);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("link", { name: "My videos" }).first().click();
    const rows = page.locator("#task-list li[data-id]");
    await rows.nth(11).waitFor();
    expect(await rows.count()).toBe(12);
    await page.getByRole("button", { name: "Load more" }).click();
    await rows.nth(12).waitFor();
    expect(await page.getByRole("button", { name: "Load more" }).isHidden()).toBe(true);
    // Both pages together: every video once. (Tasks made in the same millisecond have no
    // defined order between them, so only the set is checked.)
    const shown = await rows.locator(".task-prompt").allTextContents();
    expect(shown.sort()).toEqual([...prompts].sort());
    // The markup is shown as typed, and never became an element.
    expect(await page.locator("#task-list img[src=x]").count()).toBe(0);
    expect(await page.title()).toBe("Reelay");
  });
});

describe("web UI header", () => {
  it("names the signed-in key's owner and the key", async () => {
    const made = await app.request("/admin/keys", {
      key: app.adminToken,
      body: { name: "studio laptop", owner_id: "web-header-owner" },
    });
    const { key: headerKey } = (await made.json()) as { key: string };
    const page = await newPage();
    await signIn(page, headerKey);
    const who = page.locator("#who");
    await who.filter({ hasText: "web-header-owner" }).waitFor();
    expect(await who.innerText()).toBe("Signed in as studio laptop · owner web-header-owner");
  });
});

describe("web UI gallery with mixed orientations", () => {
  let mixed: TestApp;
  const shapes = [
    "landscape",
    "portrait",
    "landscape",
    "landscape",
    "portrait",
    "portrait",
    "landscape",
    "portrait",
  ];
  beforeAll(async () => {
    mixed = await startTestApp({ overrides: { provider: new FakeProvider() } });
    const k = await mixed.newKey();
    for (const [i, orientation] of shapes.entries()) {
      const res = await mixed.request("/v1/video/create", {
        key: k,
        body: {
          model: "sora-2-pro",
          prompt: `clip ${i} ${orientation}`,
          orientation,
          size: "small",
          duration: 10,
        },
      });
      await waitForTask(mixed, k, ((await res.json()) as { id: string }).id);
    }
  });
  afterAll(() => mixed?.close());

  it.each([
    [1280, 860],
    [390, 844],
  ])("leaves no holes and shows each video at its own aspect ratio at %i×%i", async (width, height) => {
    const page = await newPage({ width, height });
    await page.goto(`${mixed.url}/#/gallery`);
    await page
      .locator("#gallery li[data-id]")
      .nth(shapes.length - 1)
      .waitFor();
    const gallery = (await (await fetch(`${mixed.url}/v1/gallery?limit=100`)).json()) as {
      data: { id: string; width: number; height: number }[];
    };
    const layout = await galleryLayout(page);
    expect(layout).toHaveLength(shapes.length);
    for (const tile of layout) {
      const v = gallery.data.find((d) => d.id === tile.id);
      expect(tile.media.width / tile.media.height).toBeCloseTo((v?.width ?? 0) / (v?.height ?? 1), 2);
      // At most the grid's gap (and rounding) between one tile's text and the next tile down.
      expect(tile.holeBelow).toBeLessThanOrEqual(20);
      // Rows are full: no gap at the end of one (the last row may end early).
      expect(tile.holeRight).toBeLessThanOrEqual(1);
    }
  });
});

describe("web UI at phone width", () => {
  it("keeps the playground and the player readable at 390×844", async () => {
    const page = await newPage({ width: 390, height: 844 });
    {
      await signIn(page, key);
      await page.getByRole("heading", { name: "Create a video" }).waitFor();
      await page.waitForFunction(() => document.querySelectorAll("#duration option").length > 0);
      // Nothing wider than the screen: no sideways scrolling.
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow).toBeLessThanOrEqual(0);
      await shot(page, "phone-playground");
      await page.getByRole("link", { name: "My videos" }).click();
      await page.locator("#task-list li[data-id] a.task-prompt").first().click();
      await page.locator("video#player").waitFor();
      expect(
        await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth),
      ).toBeLessThanOrEqual(0);
      await shot(page, "phone-task");
    }
  });
});

describe("web UI: a task failed over to another channel", () => {
  it("lists the task's attempts: the failed one with its class and the provider's words, then the one that delivered", async () => {
    const a = await startOpenAiVideos({ secret: "secret-a-0123456789" });
    const b = await startOpenAiVideos({ secret: "secret-b-0123456789" });
    const s = await startWithChannels(
      { channels: [channel("a", "openai", a.url, { priority: 10 }), channel("b", "openai", b.url)] },
      { env: { ...secretEnv("a", "secret-a-0123456789"), ...secretEnv("b", "secret-b-0123456789") } },
    );
    try {
      const k = await s.newKey();
      a.core.nextTask({
        outcome: "fail",
        runMs: 200,
        failCode: "server_error",
        failMessage: "the renderer crashed",
      });
      b.core.nextTask({ runMs: 200 });
      const res = await s.request("/v1/video/create", {
        key: k,
        body: {
          model: "sora-2",
          prompt: "a lighthouse",
          orientation: "portrait",
          size: "small",
          duration: 10,
        },
      });
      const { id } = (await res.json()) as { id: string };
      expect((await waitForTask(s, k, id)).status).toBe("completed");
      const page = await newPage();
      await page.goto(`${s.url}/`);
      await page.getByLabel("API key").fill(k);
      await page.getByRole("button", { name: "Sign in" }).click();
      // Signed in (it moves to the create page) before going to the task: else its move wins.
      await page.waitForURL(/#\/create/);
      await page.goto(`${s.url}/#/task/${encodeURIComponent(id)}`);
      const rows = page.locator("#attempts li.attempt");
      await rows.nth(1).waitFor();
      expect(
        await rows.evaluateAll((lis: BoxEl[]) => lis.map((li) => li.getAttribute("data-outcome"))),
      ).toEqual(["failed", "completed"]);
      const first = await rows.nth(0).innerText();
      expect(first).toContain("a");
      expect(first).toContain("upstream_internal");
      expect(first).toContain("server_error");
      expect(first).toContain("the renderer crashed");
      expect(first).toContain("0 credits");
      expect(await rows.nth(1).locator(".attempt-channel").innerText()).toBe("b");
      await shot(page, "task-attempts", { fullPage: true });
    } finally {
      await s.close();
      await Promise.all([a.close(), b.close()]);
    }
  });
});

it("sent every request to loopback", () => {
  expect(requested.length).toBeGreaterThan(0);
  for (const u of requested) {
    if (u.startsWith("data:") || u.startsWith("blob:")) continue;
    expect(new URL(u).hostname).toBe("127.0.0.1");
  }
});

it("took its screenshots without touching the tracked ones, unless asked to (npm run screenshots)", async () => {
  expect((await readdir(shots)).filter((n) => n.endsWith(".png")).length).toBeGreaterThan(0);
  if (!process.env.REELAY_SCREENSHOTS_DIR) {
    expect(await fingerprint(README_SHOTS)).toBe(readmeShotsBefore);
  }
});
