/**
 * A task's attempts as both APIs show them (`attempts[]` on `GET /v1/video/query`,
 * `GET /v1/videos/{id}` and the admin task view): each upstream submission that was accepted,
 * its channel, its id there, how it ended and why, and what it cost. Every field is documented
 * in the README (*Failover after acceptance*); `http/schemas.ts` holds its JSON schema.
 */
import type { AttemptOutcome, TaskAttempt, UpstreamErrorClass } from "../upstream/ports.js";

export interface AttemptView {
  number: number;
  channel: string;
  upstream_id: string | null;
  outcome: AttemptOutcome;
  error: { class: UpstreamErrorClass; code: string | null; message: string } | null;
  usage: { tokens?: number; seconds?: number } | null;
  started_at: number;
  ended_at: number | null;
  credits: number;
}

export const attemptView = (a: TaskAttempt): AttemptView => ({
  number: a.number,
  channel: a.channelId,
  upstream_id: a.upstreamId,
  outcome: a.outcome,
  error: a.error ? { class: a.error.class, code: a.error.code, message: a.error.message } : null,
  usage: a.usage ? { ...a.usage } : null,
  started_at: a.startedAt,
  ended_at: a.endedAt,
  credits: a.credits,
});

export const attemptsView = (list: readonly TaskAttempt[]): AttemptView[] => list.map(attemptView);
