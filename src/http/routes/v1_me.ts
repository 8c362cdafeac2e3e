/**
 * `GET /v1/me`: who the calling key is — its owner and the key itself (name, prefix, limits; never
 * the secret). The web UI's header names the signed-in key from it.
 */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { errors } from "../../core/errors.js";
import { parseInput } from "../../core/params.js";
import { principalOf, requireKey } from "../auth.js";
import type { MeResponse } from "../schemas.js";
import type { AppServices } from "../services.js";
import { adminKeyView } from "./admin_keys.js";

export const meQuerySchema = z.strictObject({});

export function v1Me(app: FastifyInstance, s: AppServices): void {
  app.get("/v1/me", { onRequest: requireKey(s) }, async (req): Promise<MeResponse> => {
    parseInput(meQuerySchema, req.query);
    const { ownerId, keyId } = principalOf(req);
    const key = (await s.keys.list({ ownerId })).find((k) => k.id === keyId);
    // Authenticated a moment ago: gone only if deleted in between.
    if (!key) throw errors.invalidApiKey();
    return { object: "me", owner_id: ownerId, key: adminKeyView(key) };
  });
}
