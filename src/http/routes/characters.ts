/**
 * Characters (cameos), in both dialects:
 * - `POST /sora/v1/characters` `{from_task, timestamps:"start,end", name?}` → `{id, username, permalink,
 *   profile_picture_url}`, and `GET /sora/v1/characters/{id}` (the unified relays' shape);
 * - `POST /v1/videos/characters` (multipart `name`, `video`) → `{id, created_at, name, username}`, and
 *   `GET /v1/videos/characters/{id}` (the OpenAI client's `createCharacter` / `getCharacter`).
 * A prompt that mentions `@username` gets the character in its video.
 */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { newUploadKey } from "../../core/blob_keys.js";
import { errors } from "../../core/errors.js";
import { ALLOWED_VIDEOS_TEXT } from "../../core/media_types.js";
import { parseInput } from "../../core/params.js";
import type { Character } from "../../core/ports.js";
import { principalOf, requireKey } from "../auth.js";
import { readForm } from "../multipart.js";
import type { CharacterOpenAi, CharacterUnified } from "../schemas.js";
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

export function characters(app: FastifyInstance, s: AppServices): void {
  app.post("/sora/v1/characters", { onRequest: requireKey(s) }, async (req): Promise<CharacterUnified> => {
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
  });

  app.get("/sora/v1/characters/:id", { onRequest: requireKey(s) }, async (req): Promise<CharacterUnified> => {
    const { id } = req.params as { id: string };
    return unified(s, await s.characters.get(principalOf(req).ownerId, id));
  });

  app.post("/v1/videos/characters", { onRequest: requireKey(s) }, async (req): Promise<CharacterOpenAi> => {
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
  });

  app.get(
    "/v1/videos/characters/:id",
    { onRequest: requireKey(s) },
    async (req): Promise<CharacterOpenAi> => {
      const { id } = req.params as { id: string };
      return openAi(await s.characters.get(principalOf(req).ownerId, id));
    },
  );
}
