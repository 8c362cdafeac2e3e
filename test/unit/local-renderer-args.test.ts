/**
 * The command lines of the source modes, the spritesheet and the overlays, and the geometry of the mark,
 * insets and crossfades, checked without running ffmpeg.
 */
import { describe, expect, it } from "vitest";
import {
  buildRenderArgs,
  buildSourceRenderArgs,
  buildSpritesheetArgs,
  characterInsetRegion,
  MAX_CHARACTER_INSETS,
  markRegion,
  type SourceRenderInputs,
  slidePlan,
  spritesheetLayout,
} from "../../src/adapters/providers/local-renderer/index.js";
import type { Region } from "../../src/core/media/ports.js";

const inputs = (over: Partial<SourceRenderInputs> = {}): SourceRenderInputs => ({
  kind: "remix",
  width: 1280,
  height: 720,
  durationS: 8,
  source: { path: "/work/source.mp4", type: "mp4" },
  sourceDurationS: 4,
  sourceHasAudio: true,
  prompt: "a prompt",
  captionPath: "/work/caption.txt",
  fontPath: "/fonts/DejaVuSans-Bold.ttf",
  outputPath: "/work/video.mp4",
  ...over,
});
const graphOf = (args: string[]) => args[args.indexOf("-filter_complex") + 1] ?? "";

describe("source-mode and spritesheet command lines", () => {
  it("loops a source only when it is shorter than the output, and cuts to the asked duration", () => {
    expect(buildSourceRenderArgs(inputs()).join(" ")).toContain("-stream_loop -1 -i /work/source.mp4");
    const long = buildSourceRenderArgs(inputs({ sourceDurationS: 20 }));
    expect(long).not.toContain("-stream_loop");
    expect(long.join(" ")).toContain("-t 8 -movflags +faststart");
    expect(graphOf(long)).toContain("hue=h=");
    expect(graphOf(buildSourceRenderArgs(inputs({ kind: "edit" })))).toContain("eq=");
  });

  it("extends with concat, keeping the source's sound when it has one", () => {
    const withSound = buildSourceRenderArgs(inputs({ kind: "extend", durationS: 4 }));
    expect(graphOf(withSound)).toContain("concat=n=2:v=1:a=1");
    expect(withSound.join(" ")).toContain("-t 8 ");
    const silent = buildSourceRenderArgs(inputs({ kind: "extend", durationS: 4, sourceHasAudio: false }));
    expect(graphOf(silent)).toContain("concat=n=2:v=1:a=0");
    expect(graphOf(silent)).not.toContain("[0:a]");
  });

  it("refuses relative paths", () => {
    expect(() => buildSourceRenderArgs(inputs({ source: { path: "source.mp4", type: "mp4" } }))).toThrow(
      /absolute/,
    );
  });

  it("lays out more tiles for longer videos, never more than the frames sampled", () => {
    expect(spritesheetLayout(1080, 1920, 15)).toEqual({
      columns: 5,
      rows: 5,
      tileWidth: 160,
      tileHeight: 284,
    });
    expect(spritesheetLayout(1792, 1024, 25)).toMatchObject({ columns: 5, rows: 5, tileHeight: 92 });
    expect(spritesheetLayout(1280, 720, 4)).toMatchObject({ columns: 2, rows: 2, tileHeight: 90 });
    expect(spritesheetLayout(1280, 720, 10)).toMatchObject({ columns: 4, rows: 4 });
    expect(spritesheetLayout(1280, 720, 0.2)).toMatchObject({ columns: 1, rows: 1 });
    const args = buildSpritesheetArgs(
      { path: "/work/video.mp4", type: "mp4" },
      "/work/s.jpg",
      spritesheetLayout(1080, 1920, 15),
      15,
    );
    expect(args.join(" ")).toContain("fps=25/15,scale=160:284,setsar=1,tile=5x5 -frames:v 1");
  });
});

describe("overlay geometry and command lines", () => {
  const sizes: [number, number][] = [
    [1280, 720],
    [720, 1280],
    [1080, 1920],
    [1920, 1080],
    [1792, 1024],
    [1024, 1792],
    [480, 480],
  ];
  const inside = (r: Region, w: number, h: number) =>
    r.x >= 1 && r.y >= 1 && r.x + r.width <= w - 1 && r.y + r.height <= h - 1;
  const overlap = (a: Region, b: Region) =>
    a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

  it("puts the mark in the bottom-right corner, strictly inside the frame, sized by the frame", () => {
    for (const [w, h] of sizes) {
      const r = markRegion(w, h);
      expect(inside(r, w, h)).toBe(true);
      expect(r.x).toBeGreaterThan(w / 2);
      // Below the caption, whose box ends about an eighth of the height above the bottom edge.
      expect(r.y).toBeGreaterThan(h - h / 8);
      expect(r.width).toBeGreaterThan(Math.min(w, h) / 8);
      expect(r.width).toBeLessThan(w / 4);
    }
    expect(markRegion(1280, 720)).toEqual(markRegion(1280, 720));
  });

  it("lays the insets side by side in the top-left, inside the frame, clear of each other and the mark", () => {
    for (const [w, h] of sizes) {
      const insets = Array.from({ length: MAX_CHARACTER_INSETS }, (_, i) => characterInsetRegion(w, h, i));
      for (const [i, r] of insets.entries()) {
        expect(inside(r, w, h)).toBe(true);
        expect(Math.abs(r.width - w * 0.28)).toBeLessThanOrEqual(2);
        expect(overlap(r, markRegion(w, h))).toBe(false);
        for (const other of insets.slice(i + 1)) expect(overlap(r, other)).toBe(false);
      }
    }
  });

  it("crossfades centred on each image's share, keeping the total exact", () => {
    const plan = slidePlan(270, 3, 30);
    expect(plan.fadeFrames).toBe(18);
    expect(plan.segments).toEqual([
      { startFrame: 0, frames: 99 },
      { startFrame: 81, frames: 108 },
      { startFrame: 171, frames: 99 },
    ]);
    for (const [n, total] of [
      [2, 300],
      [3, 301],
      [5, 120],
      [7, 20],
      [1, 90],
    ] as const) {
      const p = slidePlan(total, n, 30);
      const shown = p.segments.reduce((sum, s) => sum + s.frames, 0) - (n - 1) * p.fadeFrames;
      expect(shown).toBe(total);
      // Every image has at least one frame of its own, outside its crossfades.
      for (const [i, s] of p.segments.entries()) {
        const fades = (i > 0 ? 1 : 0) + (i < n - 1 ? 1 : 0);
        expect(s.frames).toBeGreaterThan(fades * p.fadeFrames);
      }
    }
    // Shares too short for a crossfade: hard cuts.
    expect(slidePlan(8, 4, 30).fadeFrames).toBe(0);
    expect(slidePlan(90, 1, 30).fadeFrames).toBe(0);
  });

  it("adds the characters' spans as inputs after the mode's own, and the mark last", () => {
    const overlays = {
      mark: true,
      characters: [
        { video: { path: "/work/alice.mp4", type: "mp4" as const }, startS: 0.5, endS: 2.5 },
        { video: { path: "/work/bob.mp4", type: "mp4" as const }, startS: 1, endS: 3 },
      ],
    };
    const still = buildRenderArgs({
      width: 1280,
      height: 720,
      durationS: 10,
      prompt: "a prompt",
      images: [{ path: "/work/image-0", type: "png", orientation: 1 }],
      captionPath: null,
      fontPath: "/fonts/DejaVuSans-Bold.ttf",
      outputPath: "/work/video.mp4",
      overlays,
    });
    const joined = still.join(" ");
    const mp4 = "-protocol_whitelist file -f mov,mp4,m4a,3gp,3g2,mj2";
    expect(joined).toContain(
      `-f png_pipe -max_pixels 50000000 -noautorotate -i /work/image-0 ${mp4} -ss 0.5 -t 2 -i /work/alice.mp4 ${mp4} -ss 1 -t 2 -i /work/bob.mp4`,
    );
    const graph = still[still.indexOf("-filter_complex") + 1] ?? "";
    expect(graph).toContain("[1:v]setpts=PTS-STARTPTS");
    expect(graph).toContain("[2:v]setpts=PTS-STARTPTS");
    expect(graph).toContain("loop=loop=-1:size=60");
    expect(graph).toMatch(/drawtext=[^;]*text=Reelay[^;]*,format=yuv420p\[v\];/);
    // The text starts inside the mark's region.
    const [, x, y] = (/text=Reelay:.*:x=(\d+):y=(\d+)/.exec(graph) ?? []).map(Number);
    const r = markRegion(1280, 720);
    expect(x).toBeGreaterThan(r.x);
    expect(y).toBeGreaterThan(r.y);

    const remix = buildSourceRenderArgs({ ...inputs(), overlays });
    expect(remix.join(" ")).toContain(`${mp4} -stream_loop -1 -i /work/source.mp4 ${mp4} -ss 0.5 -t 2 -i`);
    expect(graphOf(remix)).toContain("[1:v]setpts");
    expect(graphOf(buildSourceRenderArgs({ ...inputs({ kind: "extend" }), overlays }))).toContain(
      "[cat]null[pip0]",
    );
    expect(() =>
      buildSourceRenderArgs({
        ...inputs(),
        overlays: { characters: [{ video: { path: "a.mp4", type: "mp4" }, startS: 0, endS: 1 }] },
      }),
    ).toThrow(/absolute/);
  });
});
