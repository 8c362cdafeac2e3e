/**
 * A byte budget for the request bodies a process holds in memory at once.
 *
 * A JSON body is read whole and parsed in memory (a create may carry 32 MiB of inline images), so
 * what a process needs is proportional to the bodies it reads *at the same time*. Each request
 * reserves its body's size before a byte of it is read (its Content-Length; a chunked body, whose
 * size is unknown, its route's body limit; a multipart form, only what the form parser keeps in
 * memory, since its files are spooled to disk). A request that does not fit waits, in order, up to
 * `waitMs`; then it is refused with `503 server_busy` and `Retry-After`, its body left unread. The
 * reservation is given back when the response is over (the parsed body lives until then).
 *
 * Heap arithmetic (why the budget and `npm start`'s heap cap go together): while a body is parsed,
 * the heap holds the body as a string and the strings parsed out of it; the handler then holds the
 * parsed strings, plus one copy to fingerprint an `Idempotency-Key` request. A body costs at most
 * HEAP_PER_BODY_BYTE bytes of heap per byte (2 for plain ASCII, up to 4 when one non-ASCII
 * character makes V8 store a whole string two bytes per character). The heap cap must hold the
 * process's own live heap (≈ 70 MB = 67 MiB with 10,000 upstream tasks in flight, see README
 * *Benchmarks*) plus HEAP_PER_BODY_BYTE × the budget (BODY_BUDGET_BYTES, 36 MiB):
 * 67 MiB + 4 × 36 MiB = 211 MiB, under `npm start`'s REELAY_HEAP_MB default of 224.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { errors } from "../core/errors.js";

/** Heap bytes one body byte may cost at worst while it is parsed and handled (see above). */
export const HEAP_PER_BODY_BYTE = 4;

export interface BodyBudgetOptions {
  /** Body bytes held in memory at once, all requests together. */
  readonly bytes: number;
  /** How long a request may wait for room before it is refused with 503. */
  readonly waitMs: number;
}

interface Waiter {
  readonly bytes: number;
  readonly grant: () => void;
}

/** Reservations of body bytes against a fixed total; waiters are served in order as room frees. */
export class BodyBudget {
  readonly total: number;
  #free: number;
  readonly #waiting: Waiter[] = [];

  constructor(total: number) {
    this.total = total;
    this.#free = total;
  }

  /** Bytes reserved now. */
  get used(): number {
    return this.total - this.#free;
  }

  /**
   * Reserves `bytes` (at most the whole budget), waiting up to `waitMs` for room. Resolves to the
   * function that gives them back (idempotent), or null if no room came in time.
   */
  reserve(bytes: number, waitMs: number): Promise<(() => void) | null> {
    const want = Math.min(bytes, this.total);
    if (this.#waiting.length === 0 && want <= this.#free) return Promise.resolve(this.#take(want));
    return new Promise((resolve) => {
      const waiter: Waiter = {
        bytes: want,
        grant: () => {
          clearTimeout(timer);
          resolve(this.#take(want));
        },
      };
      const timer = setTimeout(() => {
        this.#waiting.splice(this.#waiting.indexOf(waiter), 1);
        resolve(null);
        // A large waiter that gave up may have been holding smaller ones back.
        this.#serve();
      }, waitMs);
      this.#waiting.push(waiter);
    });
  }

  #take(bytes: number): () => void {
    this.#free -= bytes;
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.#free += bytes;
      this.#serve();
    };
  }

  /** Grants waiters in arrival order while the first one fits (no overtaking: large bodies get their turn). */
  #serve(): void {
    for (let w = this.#waiting[0]; w && w.bytes <= this.#free; w = this.#waiting[0]) {
      this.#waiting.shift();
      w.grant();
    }
  }
}

/** What the form parser keeps in memory at most: its fields (files go to disk). */
export type FormMemoryOf = (req: FastifyRequest) => number | null;

/** Bytes to reserve for this request's body: 0 when there is none or it is refused unread. */
function bodyBytes(req: FastifyRequest, formMemory: FormMemoryOf): number {
  const length = req.headers["content-length"];
  const chunked = req.headers["transfer-encoding"] !== undefined;
  if (!chunked && (length === undefined || length === "0")) return 0;
  const form = formMemory(req);
  if (form !== null) return chunked ? form : Math.min(Number(length) || form, form);
  const limit = req.routeOptions.bodyLimit ?? 0;
  if (chunked) return limit;
  const declared = Number(length);
  // Over the limit, Fastify answers 413 from the header alone, without reading the body.
  if (!Number.isFinite(declared) || declared > limit) return 0;
  return declared;
}

/** Admits every request body through `budget` (see the file comment). */
export function admitBodies(
  app: FastifyInstance,
  budget: BodyBudget,
  opts: { waitMs: number; formMemory: FormMemoryOf },
): void {
  app.addHook("preParsing", (req, reply, payload, done) => {
    const bytes = bodyBytes(req, opts.formMemory);
    if (bytes === 0) return done(null, payload);
    budget.reserve(bytes, opts.waitMs).then((release) => {
      if (!release) return done(errors.serverBusy(1), payload);
      reply.raw.once("close", release);
      // The client may have gone while this request waited: the response is then already over.
      if (reply.raw.closed) release();
      done(null, payload);
    }, done);
  });
}
