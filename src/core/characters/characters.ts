/**
 * Characters (cameos): a 1–3 s span of a video, named by a username that prompts mention as
 * `@username`. Made from a finished task (`from_task`) or an uploaded video.
 */
import { randomInt } from "node:crypto";
import { errors } from "../errors.js";
import { newId } from "../ids.js";
import type { Clock } from "../ports.js";
import type { TaskEngine } from "../tasks/engine.js";
import { type CharacterRef, isPublished } from "../tasks/task.js";
import type { Character, CharacterStore } from "./ports.js";

export const MIN_SPAN_S = 1;
export const MAX_SPAN_S = 3;
/** Characters one video shows at most. */
export const MAX_CHARACTERS = 3;
const MENTION = /(?<![\w@.])@([a-z0-9][a-z0-9._]{1,39})\b/gi;

/** `"1.5,3"` → {startS, endS}, checked against the 1–3 s rule and the video's length. */
export function parseTimestamps(
  text: string,
  videoDurationS: number,
  param = "timestamps",
): { startS: number; endS: number } {
  const m = /^\s*(\d+(?:\.\d+)?)\s*,\s*(\d+(?:\.\d+)?)\s*$/.exec(text);
  if (!m)
    throw errors.invalidField(
      param,
      `'${param}' must be "start,end" in seconds, e.g. "1,3" (got "${text.slice(0, 40)}")`,
    );
  const startS = Number(m[1]);
  const endS = Number(m[2]);
  const span = endS - startS;
  if (!(span >= MIN_SPAN_S && span <= MAX_SPAN_S)) {
    throw errors.invalidField(
      param,
      `'${param}' must span ${MIN_SPAN_S} to ${MAX_SPAN_S} seconds (got ${span.toFixed(2)} s)`,
    );
  }
  if (endS > videoDurationS + 0.05) {
    throw errors.invalidField(
      param,
      `'${param}' ends at ${endS} s but the video is ${videoDurationS.toFixed(2)} s long`,
    );
  }
  return { startS, endS };
}

const slug = (name: string): string =>
  name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ".")
    .replace(/^\.+|\.+$/g, "")
    .slice(0, 24) || "cameo";

export interface CharacterService {
  /** From a finished task of the caller's (or a published one). */
  fromTask(
    ownerId: string,
    taskId: string,
    opts: { timestamps: string; name?: string | undefined },
  ): Promise<Character>;
  /** From an uploaded video already stored under `videoKey`. */
  fromUpload(
    ownerId: string,
    opts: { videoKey: string; durationS: number; name: string; timestamps?: string },
  ): Promise<Character>;
  /** The character if the caller may use it (theirs, or public); else `not_found`. */
  get(ownerId: string, id: string): Promise<Character>;
  /** The characters a prompt mentions that the caller may use; unknown names are plain text. */
  mentioned(ownerId: string, prompt: string): Promise<CharacterRef[]>;
}

export function createCharacterService(deps: {
  store: CharacterStore;
  engine: TaskEngine;
  clock: Clock;
}): CharacterService {
  const { store, engine, clock } = deps;

  async function save(c: Omit<Character, "username" | "id" | "createdAt">, name: string): Promise<Character> {
    const now = clock.now();
    // A random suffix keeps usernames unique; a clash is retried a few times.
    for (let i = 0; i < 5; i++) {
      const full: Character = {
        ...c,
        id: newId("char", now),
        username: `${slug(name)}.${randomInt(1000, 10000)}`,
        createdAt: now,
      };
      if (await store.insert(full)) return full;
    }
    throw errors.internal();
  }

  const usable = (c: Character | undefined, ownerId: string): c is Character =>
    !!c && (c.ownerId === ownerId || c.public);

  return {
    async fromTask(ownerId, taskId, { timestamps, name }) {
      // The same rule as a remix: yours or published, never private, finished.
      const task = await engine.source(ownerId, taskId, "remix");
      const span = parseTimestamps(timestamps, task.result.durationS);
      return save(
        {
          ownerId,
          name: name ?? task.request.prompt.slice(0, 40),
          videoKey: task.result.videoKey,
          ...span,
          sourceTaskId: task.id,
          pictureKey: task.result.thumbnailKey,
          public: isPublished(task.request),
        },
        name ?? "cameo",
      );
    },

    async fromUpload(ownerId, { videoKey, durationS, name, timestamps }) {
      const span = timestamps
        ? parseTimestamps(timestamps, durationS)
        : { startS: 0, endS: Math.min(MAX_SPAN_S, durationS) };
      if (span.endS - span.startS < MIN_SPAN_S) {
        throw errors.invalidField(
          "video",
          `A character needs at least ${MIN_SPAN_S} s of video (got ${durationS.toFixed(2)} s)`,
        );
      }
      return save(
        { ownerId, name, videoKey, ...span, sourceTaskId: null, pictureKey: null, public: false },
        name,
      );
    },

    async get(ownerId, id) {
      const c = await store.get(id);
      if (!usable(c, ownerId)) throw errors.characterNotFound(id);
      return c;
    },

    async mentioned(ownerId, prompt) {
      const names = [...new Set([...prompt.matchAll(MENTION)].map((m) => (m[1] ?? "").toLowerCase()))];
      const found = (await store.findByUsernames(names)).filter((c) => usable(c, ownerId));
      // In the order the prompt names them, at most MAX_CHARACTERS (more would cover the frame).
      found.sort((a, b) => names.indexOf(a.username) - names.indexOf(b.username));
      return found.slice(0, MAX_CHARACTERS).map((c) => ({
        username: c.username,
        videoKey: c.videoKey,
        startS: c.startS,
        endS: c.endS,
      }));
    },
  };
}
