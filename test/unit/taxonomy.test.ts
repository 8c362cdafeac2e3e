/** The error taxonomy's table and the classing of providers' errors that carry no class. */
import { describe, expect, it } from "vitest";
import { ErrorCode, errors } from "../../src/core/errors.js";
import {
  classOf,
  classOfError,
  classOfRefusal,
  ERROR_CLASSES,
  failureOf,
  UPSTREAM_ERROR_CLASSES,
} from "../../src/core/upstream/taxonomy.js";

describe("the taxonomy table", () => {
  it("has the eight classes; the request's are never retried, failed over or held against the channel", () => {
    expect([...UPSTREAM_ERROR_CLASSES].sort()).toEqual(
      [
        "auth",
        "content_policy",
        "invalid_request",
        "overloaded",
        "quota",
        "result_unavailable",
        "timeout",
        "upstream_internal",
      ].sort(),
    );
    for (const cls of UPSTREAM_ERROR_CLASSES) {
      const p = ERROR_CLASSES[cls];
      expect(Object.values(ErrorCode)).toContain(p.code);
      if (p.fault === "request") expect([p.retry, p.failover, p.coolDown]).toEqual([false, false, false]);
      else expect(p.failover).toBe(true);
    }
    expect(ERROR_CLASSES.content_policy.code).toBe(ErrorCode.contentPolicy);
  });
});

describe("classing a provider's error", () => {
  it("keeps the adapter's class; else reads the provider's code, then its message; unknown is upstream_internal", () => {
    expect(classOf({ class: "quota", code: "moderation_blocked", message: "" })).toBe("quota");
    const cases: [string | null, string, string][] = [
      ["moderation_blocked", "", "content_policy"],
      ["OutputVideoSensitiveContentDetected", "", "content_policy"],
      ["SAFETY.OUTPUT.VIDEO", "", "content_policy"],
      ["invalid_parameter", "", "invalid_request"],
      ["invalid_api_key", "", "auth"],
      ["unauthorized", "", "auth"],
      ["insufficient_quota", "", "quota"],
      ["rate_limit_exceeded", "", "overloaded"],
      ["deadline_exceeded", "", "timeout"],
      ["server_error", "the prompt was blocked", "upstream_internal"],
      [null, "NSFW content detected", "content_policy"],
      [null, "CUDA error: an illegal memory access", "upstream_internal"],
      [null, "", "upstream_internal"],
    ];
    for (const [code, message, cls] of cases)
      expect([code, message, classOf({ code, message })]).toEqual([code, message, cls]);
  });

  it("turns a class into the task's error, the provider's code and message kept", () => {
    const policy = failureOf("content_policy", "a", { code: "E1", message: "flagged" });
    expect(policy.code).toBe(ErrorCode.contentPolicy);
    expect(policy.message).toContain("E1");
    expect(policy.message).toContain("flagged");
    const internal = failureOf("upstream_internal", "a", { code: null, message: "crashed" });
    expect(internal.code).toBe(ErrorCode.upstreamFailed);
    expect(internal.retryable).toBe(false);
    expect(classOfError(errors.upstreamExpired("a", "expired"))).toBe("result_unavailable");
    expect(classOfError(errors.taskTimeout(10))).toBe("timeout");
    expect(classOfError(errors.contentPolicy("a", null, "x"))).toBe("content_policy");
  });
});

describe("an upstream's HTTP refusal of a create", () => {
  const said = (message: string, code: string | null = null) => ({ code, message });
  it("is classed by a status that says whose fault it is, whatever the words", () => {
    expect(classOfRefusal(401, said("invalid prompt"))).toBe("auth");
    expect(classOfRefusal(403, said("nope"))).toBe("auth");
    expect(classOfRefusal(402, said("pay"))).toBe("quota");
    expect(classOfRefusal(408, said("slow"))).toBe("timeout");
    expect(classOfRefusal(429, said("invalid"))).toBe("overloaded");
    expect(classOfRefusal(503, said("down"))).toBe("overloaded");
    expect(classOfRefusal(500, said("boom"))).toBe("upstream_internal");
  });
  it("else by its words; a 4xx nothing recognises is the request's", () => {
    expect(classOfRefusal(400, said("prompt flagged by moderation"))).toBe("content_policy");
    expect(classOfRefusal(400, said("x", "insufficient_quota"))).toBe("quota");
    expect(classOfRefusal(400, said("duration must be 5 or 10"))).toBe("invalid_request");
    expect(classOfRefusal(422, said("what is this"))).toBe("invalid_request");
  });
  it("the class decides: a channel's refusal moves on and cools the channel, the request's does not", () => {
    const refusal = (cls: ReturnType<typeof classOfRefusal>) =>
      errors.upstreamRejected(
        "a",
        { status: 400, code: null, message: "m", class: cls },
        { retryable: false },
      );
    expect(refusal("quota").errorClass).toBe("quota");
    expect(ERROR_CLASSES[classOfRefusal(429, said("x"))]).toMatchObject({ retry: true, coolDown: true });
    expect(ERROR_CLASSES[classOfRefusal(408, said("x"))]).toMatchObject({ retry: true, coolDown: false });
    expect(ERROR_CLASSES[classOfRefusal(400, said("bad size"))]).toMatchObject({
      retry: false,
      coolDown: false,
    });
    expect(refusal("invalid_request").code).toBe(ErrorCode.upstreamRejected);
  });
});
