/** One real render per orientation × size, and one from two images on a loopback server. */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp, waitForTask } from "../helpers/app.js";
import { ffprobe } from "../helpers/ffprobe.js";
import { startImageServer } from "../helpers/image-server.js";

let app: TestApp;
let key: string;
let scratch: string;
let images: Awaited<ReturnType<typeof startImageServer>>;

beforeAll(async () => {
  images = await startImageServer();
  app = await startTestApp({ env: { REELAY_IMAGE_ALLOW_HOSTS: images.host } });
  key = await app.newKey();
  scratch = await mkdtemp(join(tmpdir(), "reelay-renders-"));
});
afterAll(async () => {
  await app.close();
  await images.close();
  await rm(scratch, { recursive: true, force: true });
});

async function renderAndProbe(body: object) {
  const res = await app.request("/v1/video/create", {
    key,
    body: { model: "sora-2-pro", prompt: "a lighthouse at dusk, waves rolling in", duration: 10, ...body },
  });
  expect(res.status).toBe(200);
  const { id } = (await res.json()) as { id: string };
  const task = await waitForTask(app, key, id, { timeoutMs: 170_000 });
  expect(task.error).toBeNull();
  expect(task.status).toBe("completed");
  const file = join(scratch, `${id.replace(/\W/g, "_")}.mp4`);
  await writeFile(file, Buffer.from(await (await fetch(String(task.video_url))).arrayBuffer()));
  return { task, probe: await ffprobe(file) };
}

describe("local renderer through the API", () => {
  it.each([
    ["portrait", "small", 720, 1280],
    ["portrait", "large", 1080, 1920],
    ["landscape", "small", 1280, 720],
    ["landscape", "large", 1920, 1080],
  ])("%s %s → %d×%d, 10 s", async (orientation, size, width, height) => {
    const { task, probe } = await renderAndProbe({ orientation, size });
    expect(task).toMatchObject({ width, height });
    expect(probe.streams.find((s) => s.codecType === "video")).toMatchObject({
      codecName: "h264",
      width,
      height,
    });
    expect(probe.streams.find((s) => s.codecType === "audio")?.codecName).toBe("aac");
    expect(Math.abs(probe.durationS - 10)).toBeLessThanOrEqual(0.2);
  });

  it("two images given as links to a loopback server (allow-listed)", async () => {
    const { task, probe } = await renderAndProbe({
      orientation: "landscape",
      size: "small",
      images: [`${images.url}/a.png`, `${images.url}/b.png`],
    });
    expect((task.detail as { input: { images: string[] } }).input.images).toHaveLength(2);
    expect(probe.streams.find((s) => s.codecType === "video")).toMatchObject({ width: 1280, height: 720 });
    expect(Math.abs(probe.durationS - 10)).toBeLessThanOrEqual(0.2);
  });

  it("an image on a loopback host that is not allow-listed is refused at create with a 400 naming the image", async () => {
    const other = await startTestApp();
    try {
      const k = await other.newKey();
      const res = await other.request("/v1/video/create", {
        key: k,
        body: {
          model: "sora-2",
          prompt: "x",
          orientation: "portrait",
          size: "small",
          duration: 10,
          images: [`${images.url}/a.png`],
        },
      });
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { code: string; param: string; message: string } };
      expect(body.error).toMatchObject({ code: "image_refused", param: "images[0]" });
      expect(body.error.message).toContain("loopback");
    } finally {
      await other.close();
    }
  });
});
