/**
 * Characters (cameos), in both dialects:
 * - `POST /sora/v1/characters` `{from_task, timestamps:"start,end", name?}` → `{id, username, permalink,
 *   profile_picture_url}`, and `GET /sora/v1/characters/{id}` (the unified relays' shape);
 * - `POST /v1/videos/characters` (multipart `name`, `video`) → `{id, created_at, name, username}`, and
 *   `GET /v1/videos/characters/{id}` (the OpenAI client's `createCharacter` / `getCharacter`).
 * A prompt that mentions `@username` gets the character in its video.
 */
import { z } from "zod";
import type { Character } from "../../core/characters/ports.js";
import { ErrorCode, errors } from "../../core/errors.js";
import { newUploadKey } from "../../core/media/blob_keys.js";
import { ALLOWED_VIDEOS_TEXT } from "../../core/media/media_types.js";
import { parseInput } from "../../core/tasks/params.js";
import { principalOf } from "../auth.js";
import { readForm } from "../multipart.js";
import { file, type Route } from "../route.js";
import {
  type CharacterOpenAi,
  type CharacterUnified,
  characterOpenAiSchema,
  characterUnifiedSchema,
} from "../schemas.js";
import type { AppServices } from "../services.js";

export const characterCreateSchema = z.strictObject({
  from_task: z.string().optional(),
  url: z.string().optional(),
  timestamps: z.string(),
  name: z.string().min(1).max(80).optional(),
});

export const characterUploadSchema = z.strictObject({
  name: z.string().min(1).max(80),
  timestamps: z.string().optional(),
});

function unified(s: AppServices, c: Character): CharacterUnified {
  return {
    id: c.id,
    username: c.username,
    permalink: `${s.publicUrl}/sora/v1/characters/${encodeURIComponent(c.id)}`,
    profile_picture_url: c.pictureKey ? s.links.sign(c.pictureKey, s.clock.now()).url : null,
  };
}

const openAi = (c: Character): CharacterOpenAi => ({
  id: c.id,
  created_at: Math.floor(c.createdAt / 1000),
  name: c.name,
  username: c.username,
});

// All four sit in the multipart scope, as they always have: the upload takes a form, and the
// others then read a multipart body as a form too rather than refusing it as not JSON.

export const soraCharactersCreate: Route = {
  method: "POST",
  url: "/sora/v1/characters",
  auth: "key",
  summary: "Make a character (cameo) from a 1–3 s span of a finished video; mention it as @username",
  tag: "Unified API",
  body: characterCreateSchema,
  ok: { status: 200, schema: characterUnifiedSchema, description: "The character" },
  errors: [
    ErrorCode.unsupportedParameter,
    ErrorCode.taskNotFound,
    ErrorCode.videoPrivate,
    ErrorCode.videoNotReady,
    ErrorCode.storageUnavailable,
  ],
  scope: "form",
  handler:
    (s) =>
    async (req): Promise<CharacterUnified> => {
      const b = parseInput(characterCreateSchema, req.body ?? {});
      if (b.url !== undefined) {
        throw errors.unsupportedParameter(
          "url",
          "'url' is not supported here: make the video a task first and pass from_task",
        );
      }
      if (b.from_task === undefined)
        throw errors.invalidField("from_task", "'from_task' is required: the id of a finished video");
      const c = await s.characters.fromTask(principalOf(req).ownerId, b.from_task, {
        timestamps: b.timestamps,
        name: b.name,
      });
      return unified(s, c);
    },
};

export const soraCharactersGet: Route = {
  method: "GET",
  url: "/sora/v1/characters/:id",
  auth: "key",
  summary: "A character (yours, or one made from a published video)",
  tag: "Unified API",
  ok: { status: 200, schema: characterUnifiedSchema, description: "The character" },
  errors: [ErrorCode.characterNotFound],
  scope: "form",
  handler:
    (s) =>
    async (req): Promise<CharacterUnified> => {
      const { id } = req.params as { id: string };
      return unified(s, await s.characters.get(principalOf(req).ownerId, id));
    },
};

export const v1VideosCharactersCreate: Route = {
  method: "POST",
  url: "/v1/videos/characters",
  auth: "key",
  summary: "Make a character from an uploaded video (first 3 s, or `timestamps`)",
  tag: "OpenAI-compatible API",
  multipart: characterUploadSchema.extend({ video: file }),
  ok: { status: 200, schema: characterOpenAiSchema, description: "The character" },
  errors: [ErrorCode.storageUnavailable],
  scope: "form",
  handler:
    (s) =>
    async (req): Promise<CharacterOpenAi> => {
      const { ownerId } = principalOf(req);
      const form = await readForm(req, {
        spoolDir: s.uploads.spoolDir,
        maxFileBytes: s.uploads.maxVideoBytes,
      });
      try {
        const extra = Object.keys(form.files).find((k) => k !== "video");
        if (extra) throw errors.invalidField(extra, `Unknown file field '${extra}'`);
        const params = parseInput(characterUploadSchema, form.fields ?? {});
        const video = form.files.video;
        if (!video)
          throw errors.invalidField("video", "'video' is required: the video file the character comes from");
        const info = await s.inspector.inspectVideo(video.path);
        if (!info)
          throw errors.invalidField("video", `'video' must be ${ALLOWED_VIDEOS_TEXT} that can be read`);
        const videoKey = newUploadKey("character.mp4", s.clock.now());
        await s.blobs.put(videoKey, video.path, "video/mp4");
        const c = await s.characters.fromUpload(ownerId, {
          videoKey,
          durationS: info.durationS,
          name: params.name,
          ...(params.timestamps ? { timestamps: params.timestamps } : {}),
        });
        return openAi(c);
      } finally {
        await form.discard();
      }
    },
};

export const v1VideosCharactersGet: Route = {
  method: "GET",
  url: "/v1/videos/characters/:id",
  auth: "key",
  summary: "A character",
  tag: "OpenAI-compatible API",
  ok: { status: 200, schema: characterOpenAiSchema, description: "The character" },
  errors: [ErrorCode.characterNotFound],
  scope: "form",
  handler:
    (s) =>
    async (req): Promise<CharacterOpenAi> => {
      const { id } = req.params as { id: string };
      return openAi(await s.characters.get(principalOf(req).ownerId, id));
    },
};
