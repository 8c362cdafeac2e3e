/**
 * The storyboard's film editor on the built-in ffmpeg: the last frame of a shot (the next shot's
 * first frame) and the join of the shots into one film. Every clip reaches ffmpeg as its sniffed
 * type with only the `file` protocol (media-input.ts), as every untrusted input does.
 *
 * The npm ffmpeg (4.1) has no `xfade`: a crossfade is the next clip fading in (alpha) over the
 * previous one, each clip laid over a black ground at its offset in the film; sound crossfades with
 * `acrossfade`, which both builds have.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { errors } from "../../../core/errors.js";
import { type FilmClip, type FilmEditor, filmSeconds } from "../../../core/storyboards/ports.js";
import { captionText } from "./caption.js";
import { runFfmpeg } from "./ffmpeg-run.js";
import { buildThumbnailArgs, captionFilter, encodeArgs, num, STEREO_48K } from "./filtergraph.js";
import { inputArgs, type VideoInput, videoInput } from "./media-input.js";
import { type MediaTools, probe } from "./media-tools.js";

/** A clip as the join's command line needs it: its checked input, whether it has sound, its caption file. */
export interface JoinClip extends Pick<FilmClip, "durationS" | "transition"> {
  readonly input: VideoInput;
  readonly hasAudio: boolean;
  /** Absolute path of the wrapped caption text, or null. */
  readonly captionPath: string | null;
}

/** The ffmpeg argv (without the binary) that joins `clips` into `outputPath`. */
export function buildJoinArgs(o: {
  clips: readonly JoinClip[];
  width: number;
  height: number;
  fps: number;
  audio: "keep" | "silent";
  crossfadeS: number;
  fontPath: string;
  outputPath: string;
}): string[] {
  const { clips, width: w, height: h, fps, crossfadeS: c } = o;
  const total = filmSeconds(clips, c);
  const graph: string[] = [`color=c=black:s=${w}x${h}:r=${fps}:d=${num(total)}[ground]`];
  let at = 0;
  let picture = "ground";
  let sound = "";
  clips.forEach((clip, i) => {
    const fades = i > 0 && clip.transition === "crossfade";
    if (i > 0) at += clips[i - 1]?.durationS ?? 0;
    if (fades) at -= c;
    const caption = clip.captionPath ? `,${captionFilter(clip.captionPath, o.fontPath, w, h)}` : "";
    graph.push(
      `[${i}:v]scale=${w}:${h}:force_original_aspect_ratio=decrease,pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2,setsar=1,` +
        `fps=${fps},trim=duration=${num(clip.durationS)},setpts=PTS-STARTPTS${caption},format=yuva420p` +
        `${fades ? `,fade=t=in:st=0:d=${num(c)}:alpha=1` : ""},setpts=PTS+${num(at)}/TB[v${i}]`,
      `[${picture}][v${i}]overlay=eof_action=pass:format=yuv420[p${i}]`,
    );
    picture = `p${i}`;
    const source =
      o.audio === "keep" && clip.hasAudio
        ? `[${i}:a]aresample=48000,${STEREO_48K},apad`
        : `anullsrc=channel_layout=stereo:sample_rate=48000,${STEREO_48K}`;
    graph.push(`${source},atrim=duration=${num(clip.durationS)},asetpts=PTS-STARTPTS[a${i}]`);
    if (i === 0) sound = "a0";
    else {
      const join = fades ? `acrossfade=d=${num(c)}` : "concat=n=2:v=0:a=1";
      graph.push(`[${sound}][a${i}]${join}[s${i}]`);
      sound = `s${i}`;
    }
  });
  graph.push(`[${picture}]format=yuv420p[v]`);
  return [
    ...["-nostdin", "-hide_banner", "-v", "error", "-y"],
    ...clips.flatMap((clip) => inputArgs(clip.input)),
    ...["-filter_complex", graph.join(";"), "-map", "[v]", "-map", `[${sound}]`],
    ...encodeArgs(fps, total, o.outputPath),
  ];
}

/** argv that writes the last frame of `video` as a PNG (decoding only its final second). */
export const buildLastFrameArgs = (video: VideoInput, pngPath: string): string[] => [
  ...["-nostdin", "-hide_banner", "-v", "error", "-y", ...inputArgs(video, ["-sseof", "-1"])],
  ...["-vsync", "0", "-update", "1", "-f", "image2", "-c:v", "png", pngPath],
];

/** A run of ffmpeg that must succeed: a failure is a retryable render failure, its stderr the cause. */
async function mustRun(
  tools: MediaTools,
  args: string[],
  signal: AbortSignal,
  what: string,
  onOutTimeS?: (s: number) => void,
) {
  const exit = await runFfmpeg(tools.ffmpegPath, args, signal, onOutTimeS);
  if (exit.code !== 0)
    throw errors.renderFailed(`${what} failed`, {
      retryable: true,
      cause: new Error(exit.stderrTail.join(" | ")),
    });
}

async function checkedVideo(path: string): Promise<VideoInput> {
  const video = await videoInput(path);
  // A shot's result was checked when it was stored; anything else here is not a video to trust.
  if (!video) throw errors.renderFailed("a shot's video is not an MP4 or WebM", { retryable: false });
  return video;
}

export function createFilmEditor(tools: MediaTools): FilmEditor {
  return {
    async lastFrame(videoPath, pngPath, signal) {
      const video = await checkedVideo(videoPath);
      await mustRun(tools, buildLastFrameArgs(video, pngPath), signal, "extracting the last frame");
    },

    async join({ clips, width, height, fps, audio, crossfadeS, workDir, signal, onProgress }) {
      const ready: JoinClip[] = [];
      for (const [i, clip] of clips.entries()) {
        const input = await checkedVideo(clip.path);
        const info = await probe(tools.ffprobePath, input);
        const text = clip.caption ? captionText(clip.caption, width, height) : "";
        const captionPath = text ? join(workDir, `caption-${i}.txt`) : null;
        if (captionPath) await writeFile(captionPath, text);
        const hasAudio = info.streams.some((s) => s.codecType === "audio");
        ready.push({ input, hasAudio, captionPath, durationS: clip.durationS, transition: clip.transition });
      }
      const videoPath = join(workDir, "film.mp4");
      const thumbnailPath = join(workDir, "film.jpg");
      const durationS = filmSeconds(ready, crossfadeS);
      const args = buildJoinArgs({
        clips: ready,
        width,
        height,
        fps,
        audio,
        crossfadeS,
        fontPath: tools.fontPath,
        outputPath: videoPath,
      });
      await mustRun(tools, args, signal, "joining the shots", (s) => onProgress?.(s / durationS));
      const film = await checkedVideo(videoPath);
      const thumbArgs = buildThumbnailArgs(film, thumbnailPath, Math.min(1, durationS / 2));
      await mustRun(tools, thumbArgs, signal, "making the film's thumbnail");
      return { videoPath, thumbnailPath, width, height, durationS };
    },
  };
}
