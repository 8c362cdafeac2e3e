/** Wraps a blob store's operations so every failure leaves as Reelay's typed storage error. */
import { BlobMissingError } from "../../core/media/ports.js";

/**
 * `guardedBy(toError)(what, fn)`: `fn`, whose failures go through `toError` (given what the call
 * was doing). A `BlobMissingError` passes as it is: the port's "no such blob".
 */
export const guardedBy =
  (toError: (e: unknown, what: string) => unknown) =>
  <A extends unknown[], R>(what: string, fn: (...a: A) => Promise<R>) =>
  async (...a: A): Promise<R> => {
    try {
      return await fn(...a);
    } catch (e) {
      throw e instanceof BlobMissingError ? e : toError(e, what);
    }
  };
