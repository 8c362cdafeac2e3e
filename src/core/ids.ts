import { randomBytes } from "node:crypto";
import { ulid } from "ulid";

/** `sora-2:task_01k9009g8ef1esae6388chgcpx`: the model family, then a lowercase ULID (sortable by time). */
export const newTaskId = (family: string, now: number): string => `${family}:task_${ulid(now).toLowerCase()}`;

const TASK_ID = /^[a-z0-9][a-z0-9._-]{0,63}:task_[0-9a-hjkmnp-tv-z]{26}$/;
export const isTaskId = (id: string): boolean => TASK_ID.test(id);

export const newId = (prefix: string, now: number): string => `${prefix}_${ulid(now).toLowerCase()}`;

/** A secret with 256 bits of entropy, URL-safe. */
export const newSecret = (): string => randomBytes(32).toString("base64url");
