/**
 * The create use case, whichever API a request came through: the caller's key may use the model,
 * its image links pass the fetch rules, the prompt's `@username` characters are resolved, then
 * the task and its job are stored (engine.ts; with an idempotency key, maybe the earlier task).
 * The request's uploads, stored before it got here, go when no new task is made from them.
 */

import type { CharacterService } from "../characters/characters.js";
import { errors } from "../errors.js";
import { uploadKeysOf } from "../media/blob_keys.js";
import type { BlobStore } from "../media/ports.js";
import type { Logger } from "../ports.js";
import type { TaskEngine } from "./engine.js";
import { type Quote, type QuoteDeps, quoteRequest } from "./quote.js";
import type { Task, VideoRequest } from "./task.js";

export interface CreateDeps {
  readonly engine: Pick<TaskEngine, "create">;
  readonly characters: Pick<CharacterService, "mentioned">;
  /** Checks image links against the fetch rules (SSRF), refusing one the fetch would refuse. */
  readonly imageLinks: { check(urls: readonly string[], signal: AbortSignal): Promise<void> };
  readonly blobs: BlobStore;
}

/** The API key a request came with: its limits apply, and it pays. */
export interface CallerKey {
  readonly keyId: string;
  /** Models the key may use; null: all. */
  readonly allowedModels: readonly string[] | null;
  /** Pending + processing tasks the owner may have through it; 0: no limit. */
  readonly maxActive: number;
}

export interface CreateInput {
  readonly ownerId: string;
  readonly key: CallerKey | null;
  readonly request: VideoRequest;
  /**
   * The request's idempotency key and fingerprint, if it has one. Read after the key's model
   * check: a model the key may not use is the answer even when the idempotency key is malformed.
   */
  readonly idempotency: () => { key: string; fingerprint: string } | undefined;
  /** The id of the HTTP request, carried by the job's log lines. */
  readonly requestId: string;
  readonly log: Pick<Logger, "info">;
}

/**
 * The checks every create makes before anything is stored (the key may use the model, the
 * idempotency key is well formed, image links pass the fetch rules) and the request as it would be
 * stored (with the characters its prompt names). A quote makes the same checks.
 */
async function checkedRequest(
  deps: Pick<CreateDeps, "characters" | "imageLinks">,
  input: Pick<CreateInput, "ownerId" | "key" | "request" | "idempotency">,
): Promise<{ request: VideoRequest; idempotency: { key: string; fingerprint: string } | undefined }> {
  const { ownerId, key, request } = input;
  // A storyboard asks for its shots' models and links: those are what the key must be allowed.
  const parts = request.storyboard ? request.storyboard.shots.map((s) => s.request) : [request];
  const allowed = key?.allowedModels;
  const refused = parts.find((r) => allowed && !allowed.includes(r.model));
  if (allowed && refused) throw errors.modelNotAllowed(refused.model, allowed);
  const idempotency = input.idempotency();
  // A link the fetch would refuse is the caller's to fix: say so now, not when the task runs.
  const links = parts.flatMap((r) => r.images);
  if (links.length > 0) await deps.imageLinks.check(links, AbortSignal.timeout(5000));
  const characters = request.storyboard ? [] : await deps.characters.mentioned(ownerId, request.prompt);
  return { request: characters.length > 0 ? { ...request, characters } : request, idempotency };
}

/** Makes the task for `input.request` (or returns the earlier one its idempotency key names). */
export async function createVideoTask(deps: CreateDeps, input: CreateInput): Promise<Task> {
  const { ownerId, key, request } = input;
  const dropUploads = () => Promise.all(uploadKeysOf(request).map((k) => deps.blobs.delete(k)));
  try {
    const checked = await checkedRequest(deps, input);
    const { task, reused } = await deps.engine.create(ownerId, checked.request, {
      requestId: input.requestId,
      maxActive: key?.maxActive ?? 0,
      ...(key ? { keyId: key.keyId } : {}),
      ...(checked.idempotency ? { idempotency: checked.idempotency } : {}),
    });
    if (reused) {
      await dropUploads();
      input.log.info({ taskId: task.id }, "idempotent create: returned the earlier task");
    }
    return task;
  } catch (e) {
    await dropUploads().catch(() => undefined);
    throw e;
  }
}

/**
 * What a create of `input.request` would cost and where it would go (quote.ts), after the checks a
 * create makes: nothing is stored, no upstream is called. Its uploads were never stored (the
 * caller checked them without storing).
 */
export async function quoteVideoTask(
  deps: Pick<CreateDeps, "characters" | "imageLinks"> & QuoteDeps,
  input: Pick<CreateInput, "ownerId" | "key" | "request" | "idempotency">,
): Promise<Quote> {
  const { request } = await checkedRequest(deps, input);
  return quoteRequest(deps, input.ownerId, request);
}
