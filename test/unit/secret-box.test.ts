/** Encryption at rest of webhook signing secrets (src/adapters/crypto/secret-box.ts). */
import { describe, expect, it } from "vitest";
import { createSecretBox } from "../../src/adapters/crypto/secret-box.js";

const MASTER = "unit-master-secret-0123456789abcdef0123";

describe("secret box", () => {
  const box = createSecretBox(MASTER, "webhook-secrets");

  it("seals to something else each time and opens back, for the same row only", () => {
    const a = box.seal("whsec_abc", "webhook_endpoint:whe_1");
    const b = box.seal("whsec_abc", "webhook_endpoint:whe_1");
    expect(a).toMatch(/^enc1:/);
    expect(a).not.toBe(b);
    expect(a).not.toContain("abc");
    expect(box.open(a, "webhook_endpoint:whe_1")).toBe("whsec_abc");
    expect(() => box.open(a, "webhook_endpoint:whe_2")).toThrow(/REELAY_SIGNING_SECRET/);
  });

  it("does not open under another master secret or purpose, nor after tampering", () => {
    const sealed = box.seal("whsec_abc", "ctx");
    expect(() => createSecretBox(`${MASTER}x`, "webhook-secrets").open(sealed, "ctx")).toThrow();
    expect(() => createSecretBox(MASTER, "other").open(sealed, "ctx")).toThrow();
    const raw = Buffer.from(sealed.slice(5), "base64url");
    raw[14] = (raw[14] ?? 0) ^ 1;
    expect(() => box.open(`enc1:${raw.toString("base64url")}`, "ctx")).toThrow();
    expect(() => box.open("enc1:AAAA", "ctx")).toThrow(/truncated/);
  });

  it("reads a secret stored before encryption at rest as it is", () => {
    expect(box.open("whsec_legacy", "ctx")).toBe("whsec_legacy");
  });
});
