/**
 * Admin key management: `POST /admin/keys` mints a key (in this response only; Reelay keeps its
 * hash), `GET /admin/keys?owner_id=` lists keys (never their secrets), `DELETE /admin/keys/{id}`
 * revokes one, effective on the next request.
 */
import { z } from "zod";
import { mintApiKey } from "../../core/accounts/keys.js";
import type { ApiKeyRecord } from "../../core/accounts/ports.js";
import { ErrorCode, errors } from "../../core/errors.js";
import { parseInput } from "../../core/tasks/params.js";
import type { Route } from "../route.js";
import {
  type AdminKey,
  type AdminKeyCreateResponse,
  type AdminKeyList,
  adminKeyCreateResponseSchema,
  adminKeyListSchema,
  adminKeySchema,
} from "../schemas.js";

export const adminKeyBodySchema = z.strictObject({
  name: z.string().min(1).max(200).optional(),
  owner_id: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,100}$/)
    .optional(),
  /** Unix seconds. */
  expires_at: z.int().positive().optional(),
  allowed_models: z.array(z.string()).min(1).optional(),
  /** Overrides REELAY_RATE_LIMIT_PER_MIN for this key (0: none). */
  rate_limit_per_min: z.int().min(0).max(1_000_000).optional(),
  /** Overrides REELAY_MAX_ACTIVE_TASKS for this key (0: none). */
  max_active_tasks: z.int().min(0).max(1_000_000).optional(),
});
export const adminKeyListQuerySchema = z.strictObject({ owner_id: z.string().min(1).optional() });

const seconds = (ms: number | null) => (ms === null ? null : Math.floor(ms / 1000));
export const adminKeyView = (k: ApiKeyRecord): AdminKey => ({
  id: k.id,
  name: k.name,
  owner_id: k.ownerId,
  prefix: k.prefix,
  created_at: k.createdAt,
  expires_at: seconds(k.expiresAt),
  revoked_at: seconds(k.revokedAt),
  allowed_models: k.allowedModels === null ? null : [...k.allowedModels],
  rate_limit_per_min: k.ratePerMin,
  max_active_tasks: k.maxActive,
});

export const adminKeysCreate: Route = {
  method: "POST",
  url: "/admin/keys",
  auth: "admin",
  summary: "Create an API key (returned once)",
  tag: "Admin",
  body: adminKeyBodySchema,
  ok: { status: 201, schema: adminKeyCreateResponseSchema, description: "The new key" },
  errors: [],
  handler:
    (s) =>
    async (req, reply): Promise<AdminKeyCreateResponse> => {
      const b = parseInput(adminKeyBodySchema, req.body ?? {});
      const unknownModel = b.allowed_models?.find((m) => !s.models.has(m));
      if (unknownModel) {
        throw errors.invalidField(
          "allowed_models",
          `Unknown model '${unknownModel}'; available: ${[...s.models.keys()].join(", ")}`,
        );
      }
      const now = s.clock.now();
      if (b.expires_at !== undefined && b.expires_at * 1000 <= now) {
        throw errors.invalidField("expires_at", "'expires_at' must be in the future (Unix seconds)");
      }
      const { record, secret } = mintApiKey({
        name: b.name ?? "default",
        ownerId: b.owner_id,
        now,
        expiresAt: b.expires_at === undefined ? null : b.expires_at * 1000,
        allowedModels: b.allowed_models ?? null,
        ratePerMin: b.rate_limit_per_min ?? null,
        maxActive: b.max_active_tasks ?? null,
      });
      await s.keys.insert(record);
      req.log.info({ keyId: record.id, ownerId: record.ownerId, prefix: record.prefix }, "api key created");
      reply.code(201);
      return { ...adminKeyView(record), key: secret };
    },
};

export const adminKeysList: Route = {
  method: "GET",
  url: "/admin/keys",
  auth: "admin",
  summary: "List API keys (never their secrets)",
  tag: "Admin",
  query: {
    owner_id: { schema: adminKeyListQuerySchema.shape.owner_id, description: "Only this owner's keys" },
  },
  ok: { status: 200, schema: adminKeyListSchema, description: "Keys, newest first" },
  errors: [],
  handler:
    (s) =>
    async (req): Promise<AdminKeyList> => {
      const params = parseInput(adminKeyListQuerySchema, req.query);
      return { object: "list", data: (await s.keys.list({ ownerId: params.owner_id })).map(adminKeyView) };
    },
};

export const adminKeysRevoke: Route = {
  method: "DELETE",
  url: "/admin/keys/:id",
  auth: "admin",
  summary: "Revoke an API key (effective on the next request)",
  tag: "Admin",
  ok: { status: 200, schema: adminKeySchema, description: "The key, revoked" },
  errors: [ErrorCode.notFound],
  handler:
    (s) =>
    async (req): Promise<AdminKey> => {
      const { id } = req.params as { id: string };
      const revoked = await s.keys.revoke(id, s.clock.now());
      if (!revoked) throw errors.keyNotFound(id);
      req.log.info({ keyId: id }, "api key revoked");
      return adminKeyView(revoked);
    },
};
