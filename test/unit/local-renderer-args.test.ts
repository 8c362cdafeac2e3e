/** The command lines of the source modes and the spritesheet, checked without running ffmpeg. */
import { describe, expect, it } from "vitest";
import {
  buildSourceRenderArgs,
  buildSpritesheetArgs,
  type SourceRenderInputs,
  spritesheetLayout,
} from "../../src/adapters/providers/local-renderer/index.js";

describe("source-mode and spritesheet command lines", () => {
  const inputs = (over: Partial<SourceRenderInputs> = {}): SourceRenderInputs => ({
    kind: "remix",
    width: 1280,
    height: 720,
    durationS: 8,
    sourcePath: "/work/source.mp4",
    sourceDurationS: 4,
    sourceHasAudio: true,
    prompt: "a prompt",
    captionPath: "/work/caption.txt",
    fontPath: "/fonts/DejaVuSans-Bold.ttf",
    outputPath: "/work/video.mp4",
    ...over,
  });
  const graphOf = (args: string[]) => args[args.indexOf("-filter_complex") + 1] ?? "";

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
    expect(() => buildSourceRenderArgs(inputs({ sourcePath: "source.mp4" }))).toThrow(/absolute/);
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
      "/work/video.mp4",
      "/work/s.jpg",
      spritesheetLayout(1080, 1920, 15),
      15,
    );
    expect(args.join(" ")).toContain("fps=25/15,scale=160:284,setsar=1,tile=5x5 -frames:v 1");
  });
});
