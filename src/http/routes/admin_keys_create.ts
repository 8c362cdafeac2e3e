/** `POST /admin/keys`: mints an API key. The key is in this response only; Reelay keeps its hash. */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { mintApiKey } from "../../core/keys.js";
import { issueToError } from "../../core/params.js";
import { requireAdmin } from "../auth.js";
import type { AdminKeyCreateResponse } from "../schemas.js";
import type { AppServices } from "../services.js";

export const adminKeyBodySchema = z.strictObject({
  name: z.string().min(1).max(200).optional(),
  owner_id: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,100}$/)
    .optional(),
});

export function adminKeysCreate(app: FastifyInstance, s: AppServices): void {
  app.post(
    "/admin/keys",
    { onRequest: requireAdmin(s.adminTokenHash, s.keys) },
    async (req, reply): Promise<AdminKeyCreateResponse> => {
      const parsed = adminKeyBodySchema.safeParse(req.body ?? {});
      if (!parsed.success) throw issueToError(parsed.error.issues[0] as z.core.$ZodIssue, req.body);
      const { record, secret } = mintApiKey({
        name: parsed.data.name ?? "default",
        ownerId: parsed.data.owner_id,
        now: s.clock.now(),
      });
      await s.keys.insert(record);
      req.log.info({ keyId: record.id, ownerId: record.ownerId, prefix: record.prefix }, "api key created");
      reply.code(201);
      return {
        id: record.id,
        key: secret,
        name: record.name,
        owner_id: record.ownerId,
        prefix: record.prefix,
        created_at: record.createdAt,
      };
    },
  );
}
