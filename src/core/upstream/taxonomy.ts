/**
 * One error taxonomy across providers: every provider error is one of eight classes, whatever its
 * own words, and the class alone decides what follows — whether the same channel is tried again,
 * whether the task fails over to another channel after acceptance, whether the channel counts a
 * failure towards its cool-down, and the Reelay error code (hence HTTP status) the user sees when
 * the task fails for good. A failed task is always refunded: nothing was delivered.
 *
 * Adapters set the class where their provider's API says (its error codes and types); an error
 * without one is classed here from its code (its message when it has no code), and an unknown one
 * counts as `upstream_internal`.
 */
import { ErrorCode, errors, type ReelayError } from "../errors.js";
import type { UpstreamErrorClass } from "./ports.js";

/** Whose fault a class is: the request's (never tried elsewhere), the channel's, or the provider's. */
export type Fault = "request" | "channel" | "provider";

export interface ClassPolicy {
  readonly fault: Fault;
  /** A create refused with it is sent again (to the next channel at submit; the same one later). */
  readonly retry: boolean;
  /** A task that fails with it after acceptance is submitted again to another channel. */
  readonly failover: boolean;
  /** It counts as a failure of the channel (enough in a row cool the channel down). */
  readonly coolDown: boolean;
  /** The code on the task when it fails for good with it (its HTTP status: src/http/errors.ts). */
  readonly code: ErrorCode;
}

/** The table (documented in the README, *Errors from providers*). */
export const ERROR_CLASSES: Readonly<Record<UpstreamErrorClass, ClassPolicy>> = {
  content_policy: {
    fault: "request",
    retry: false,
    failover: false,
    coolDown: false,
    code: ErrorCode.contentPolicy,
  },
  invalid_request: {
    fault: "request",
    retry: false,
    failover: false,
    coolDown: false,
    code: ErrorCode.upstreamFailed,
  },
  auth: { fault: "channel", retry: true, failover: true, coolDown: true, code: ErrorCode.upstreamFailed },
  quota: { fault: "channel", retry: true, failover: true, coolDown: true, code: ErrorCode.upstreamFailed },
  overloaded: {
    fault: "channel",
    retry: true,
    failover: true,
    coolDown: true,
    code: ErrorCode.upstreamFailed,
  },
  timeout: { fault: "provider", retry: true, failover: true, coolDown: false, code: ErrorCode.taskTimeout },
  upstream_internal: {
    fault: "provider",
    retry: true,
    failover: true,
    coolDown: true,
    code: ErrorCode.upstreamFailed,
  },
  result_unavailable: {
    fault: "provider",
    retry: true,
    failover: true,
    coolDown: false,
    code: ErrorCode.upstreamBadContent,
  },
};

export const UPSTREAM_ERROR_CLASSES = Object.keys(ERROR_CLASSES) as readonly UpstreamErrorClass[];

/**
 * Words of providers' error codes, by class, tried in order (the first match wins): moderation
 * first, so a "safety timeout" is still a refusal, never retried.
 */
const WORDS: readonly (readonly [UpstreamErrorClass, RegExp])[] = [
  [
    "content_policy",
    /moderat|safety|content[_ -]?policy|policy[_ -]?violation|nsfw|sensitive|inappropriate|prohibited|blocked|flagged|copyright|real[_ -]?person/i,
  ],
  // A refused key (`invalid_api_key`) is the channel's, not the request's.
  ["auth", /auth|api[_ -]?key|credential|forbidden|permission|unauthori[sz]ed|signature/i],
  ["invalid_request", /invalid|param|unsupported|bad[_ -]?request|malformed|not[_ -]?allowed|too[_ -]?long/i],
  ["quota", /quota|insufficient|balance|billing|credit|payment|exceeded[_ -]?limit/i],
  ["overloaded", /overload|rate[_ -]?limit|too[_ -]?many|busy|capacity|unavailable|throttl/i],
  ["timeout", /time[_ -]?out|timed[_ -]?out|deadline/i],
  ["result_unavailable", /expired|not[_ -]?found|no[_ -]?(video|result|output)/i],
];

/**
 * The class of a provider's error: the adapter's when it set one, else from the provider's code
 * (its message when it sent no code); `upstream_internal` when nothing says otherwise.
 */
export function classOf(e: {
  readonly class?: UpstreamErrorClass | undefined;
  readonly code: string | null;
  readonly message: string;
}): UpstreamErrorClass {
  if (e.class) return e.class;
  const words = e.code ?? e.message;
  for (const [cls, re] of WORDS) if (re.test(words)) return cls;
  return "upstream_internal";
}

/**
 * The class of an upstream's HTTP refusal of a create: by its status where the status says whose
 * fault it is (401/403 a refused key, 402 quota, 408 timeout, 429 overloaded, 5xx the provider's),
 * else by the words of its code or message; a 4xx nothing recognises is the request's.
 */
export function classOfRefusal(
  status: number,
  said: { readonly code: string | null; readonly message: string },
): UpstreamErrorClass {
  if (status === 401 || status === 403) return "auth";
  if (status === 402) return "quota";
  if (status === 408) return "timeout";
  if (status === 429) return "overloaded";
  if (status >= 500) return status === 503 ? "overloaded" : "upstream_internal";
  const cls = classOf(said);
  return cls === "upstream_internal" ? "invalid_request" : cls;
}

/** The task's error for a provider's failure of class `cls` while it ran (its code and reason kept). */
export function failureOf(
  cls: UpstreamErrorClass,
  channel: string,
  e: { readonly code: string | null; readonly message: string },
): ReelayError {
  switch (ERROR_CLASSES[cls].code) {
    case ErrorCode.contentPolicy:
      return errors.contentPolicy(channel, e.code, e.message);
    case ErrorCode.taskTimeout:
      return errors.upstreamFailed(channel, e.code, `timed out: ${e.message}`);
    case ErrorCode.upstreamBadContent:
      return errors.upstreamBadContent(channel, e.message, false);
    default:
      return errors.upstreamFailed(channel, e.code, e.message);
  }
}

/** The class a Reelay error of a failed task stands for (its attempt's class, when no provider said). */
export function classOfError(err: ReelayError): UpstreamErrorClass {
  switch (err.code) {
    case ErrorCode.contentPolicy:
      return "content_policy";
    case ErrorCode.taskTimeout:
      return "timeout";
    case ErrorCode.upstreamExpired:
    case ErrorCode.upstreamBadContent:
      return "result_unavailable";
    case ErrorCode.invalidRequest:
    case ErrorCode.imageRefused:
    case ErrorCode.imageFetchFailed:
      return "invalid_request";
    default:
      return "upstream_internal";
  }
}
