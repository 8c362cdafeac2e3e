/**
 * `GET /v1/me`: who the calling key is — its owner and the key itself (name, prefix, limits; never
 * the secret). The web UI's header names the signed-in key from it.
 */
import { z } from "zod";
import { errors } from "../../core/errors.js";
import { parseInput } from "../../core/tasks/params.js";
import { principalOf } from "../auth.js";
import type { Route } from "../route.js";
import { type MeResponse, meSchema } from "../schemas.js";
import { adminKeyView } from "./admin_keys.js";

export const meQuerySchema = z.strictObject({});

export const v1Me: Route = {
  method: "GET",
  url: "/v1/me",
  auth: "key",
  summary: "Who the calling key is: its owner, name, prefix and limits",
  tag: "Unified API",
  ok: { status: 200, schema: meSchema, description: "The calling key and its owner" },
  errors: [],
  handler:
    (s) =>
    async (req): Promise<MeResponse> => {
      parseInput(meQuerySchema, req.query);
      const { ownerId, keyId } = principalOf(req);
      const key = (await s.keys.list({ ownerId })).find((k) => k.id === keyId);
      // Authenticated a moment ago: gone only if deleted in between.
      if (!key) throw errors.invalidApiKey();
      return { object: "me", owner_id: ownerId, key: adminKeyView(key) };
    },
};
