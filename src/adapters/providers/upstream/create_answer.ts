/** How provider adapters turn a create they cannot send, or a refused create, into Reelay's errors. */
import { errors, type ReelayError } from "../../../core/errors.js";
import type { CallResult } from "./http.js";

/** A request the provider's API cannot express: refused before sending, never retried elsewhere. */
export const unsupportedRequest = (channelId: string, message: string): ReelayError =>
  errors.upstreamRejected(channelId, { status: null, code: "unsupported", message }, { retryable: false });

/**
 * The error for a refused create: a 2xx answer without JSON may still have been taken upstream, so
 * it is an unknown outcome (never sent elsewhere); anything else is the refusal as classified.
 */
export function createRefusal(channelId: string, res: CallResult, refused: ReelayError): ReelayError {
  if (res.json === undefined && res.status >= 200 && res.status <= 299)
    return errors.upstreamOutcomeUnknown(channelId, `a ${res.status} answer that is not JSON`, false);
  return refused;
}
