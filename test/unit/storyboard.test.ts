/** Storyboards' pure parts: the film's length, the progress weighted by shot duration, the join's command line. */
import { describe, expect, it } from "vitest";
import {
  buildJoinArgs,
  buildLastFrameArgs,
} from "../../src/adapters/providers/local-renderer/film-editor.js";
import { DEFAULT_MODELS, modelTable } from "../../src/core/catalogue/models.js";
import { parseStoryboard } from "../../src/core/storyboards/plan.js";
import { filmSeconds } from "../../src/core/storyboards/ports.js";
import { storyboardProgress } from "../../src/core/storyboards/view.js";
import type { Task } from "../../src/core/tasks/task.js";

const models = modelTable(DEFAULT_MODELS);
const plan = parseStoryboard(
  {
    model: "sora-2",
    orientation: "portrait",
    size: "small",
    shots: [
      { prompt: "one", duration: 10 },
      { prompt: "two", duration: 15, transition: "crossfade" },
      { prompt: "three", duration: 15, model: "sora-2-pro" },
    ],
  },
  models,
).request;

describe("storyboards", () => {
  it("a film is its shots end to end, less each crossfade's overlap", () => {
    const shots = plan.storyboard.shots.map((s) => ({
      durationS: s.request.duration,
      transition: s.transition,
    }));
    expect(filmSeconds(shots, 0.5)).toBe(39.5);
    expect(plan.duration).toBe(40);
    expect(plan.width).toBe(720);
    expect(plan.model).toBe("storyboard");
  });

  it("progress weighs each shot by its duration; a waiting shot counts nothing", () => {
    const t = (status: Task["status"], progress: number) => ({ status, progress }) as Task;
    expect(storyboardProgress(plan.storyboard, [])).toBe(0);
    expect(storyboardProgress(plan.storyboard, [t("completed", 100)])).toBe(25);
    expect(storyboardProgress(plan.storyboard, [t("completed", 100), t("processing", 50)])).toBe(43);
    // Never 100 before the film is joined.
    const all = [t("completed", 100), t("completed", 100), t("completed", 100)];
    expect(storyboardProgress(plan.storyboard, all)).toBe(99);
  });

  it("the join reads each clip as its sniffed type over file: only, and joins sound by cut or crossfade", () => {
    const clip = (i: number, transition: "cut" | "crossfade") => ({
      input: { path: `/w/shot-${i}.mp4`, type: "mp4" as const },
      hasAudio: i !== 1,
      captionPath: null,
      durationS: 4,
      transition,
    });
    const args = buildJoinArgs({
      clips: [clip(0, "cut"), clip(1, "cut"), clip(2, "crossfade")],
      width: 1280,
      height: 720,
      fps: 30,
      audio: "keep",
      crossfadeS: 1,
      fontPath: "/f.ttf",
      outputPath: "/w/film.mp4",
    });
    expect(args.filter((a) => a === "-protocol_whitelist")).toHaveLength(3);
    const graph = String(args[args.indexOf("-filter_complex") + 1]);
    expect(graph).toContain("[a0][a1]concat=n=2:v=0:a=1[s1]");
    expect(graph).toContain("[s1][a2]acrossfade=d=1[s2]");
    // Shot 1 has no sound: a silent track stands in for it.
    expect(graph).toMatch(/anullsrc=[^;]*atrim=duration=4,asetpts=PTS-STARTPTS\[a1\]/);
    // Shot 2 starts one second before shot 1 ends, fading in.
    expect(graph).toContain("fade=t=in:st=0:d=1:alpha=1,setpts=PTS+7/TB[v2]");
    expect(args.slice(args.indexOf("-t"), args.indexOf("-t") + 2)).toEqual(["-t", "11"]);
    expect(buildLastFrameArgs({ path: "/w/a.mp4", type: "mp4" }, "/w/a.png")).toContain("file");
  });
});
