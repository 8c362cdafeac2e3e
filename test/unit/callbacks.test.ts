/**
 * Provider callbacks, the parts without a server: the per-task callback URL and its token, the
 * channel settings, and each signature scheme (Standard Webhooks for Replicate, ED25519 for fal)
 * checked against headers made as the providers make them.
 */
import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  callbackJson,
  ed25519Keys,
  falSignatureValid,
  falSignedMessage,
  standardWebhookCallback,
} from "../../src/adapters/providers/upstream/callbacks.js";
import { DEFAULT_MODELS } from "../../src/core/catalogue/models.js";
import { createCallbackLinks } from "../../src/core/upstream/callbacks.js";
import { channelSchema, readChannels } from "../../src/main/channel_config.js";
import { signFalWebhook } from "../emulators/fal.js";
import { signReplicateWebhook } from "../emulators/replicate.js";

const env = { KEY: "secret-0123456789" };
const parse = (o: object) => channelSchema.parse({ baseUrl: "http://127.0.0.1:9", secretEnv: "KEY", ...o });
const read = (o: object) => readChannels([parse(o)], DEFAULT_MODELS, env, "test");

describe("callback links", () => {
  const links = createCallbackLinks({
    secret: "s".repeat(32),
    publicUrl: "https://reelay.example/",
    channels: new Set(["kl"]),
  });

  it("gives channels with callbacks a URL per task whose token only that task's URL carries", () => {
    const url = links.urlFor("kl", "kling-v2.1:task_1");
    expect(url).toMatch(
      /^https:\/\/reelay\.example\/v1\/callbacks\/kl\/kling-v2\.1%3Atask_1\?token=[\w-]{43}$/,
    );
    const token = new URL(url as string).searchParams.get("token") as string;
    expect(links.check("kl", "kling-v2.1:task_1", token)).toBe(true);
    expect(links.check("kl", "kling-v2.1:task_2", token)).toBe(false);
    expect(links.check("other", "kling-v2.1:task_1", token)).toBe(false);
    expect(links.check("kl", "kling-v2.1:task_1", undefined)).toBe(false);
    expect(links.check("kl", "kling-v2.1:task_1", `${token.slice(0, -1)}A`)).toBe(false);
    expect(links.urlFor("other", "t")).toBeNull();
  });
});

describe("callback settings", () => {
  it("takes callbacks on kinds that push them, and fal's key URL on fal only", () => {
    expect(read({ id: "k", kind: "kling", callbacks: true })[0]?.callbacks).toBe(true);
    expect(read({ id: "k", kind: "kling" })[0]?.callbacks).toBe(false);
    expect(
      read({ id: "f", kind: "fal", callbacks: true, callbackKeysUrl: "http://127.0.0.1:9/jwks" })[0]
        ?.callbackKeysUrl,
    ).toBe("http://127.0.0.1:9/jwks");
    expect(() => read({ id: "r", kind: "runway", callbacks: true })).toThrow(
      /channels\[0\] \('r'\): callbacks: kind 'runway' pushes none \(kling, seedance, minimax, fal, replicate do\)/,
    );
    expect(() => read({ id: "k", kind: "kling", callbackKeysUrl: "http://127.0.0.1:9/j" })).toThrow(
      /callbackKeysUrl is for kind 'fal' only/,
    );
  });
});

describe("callback signatures", () => {
  const req = (body: string, headers: Record<string, string>, now = Date.now()) => ({
    headers,
    body: Buffer.from(body),
    now,
    signal: AbortSignal.timeout(1000),
  });

  it("Standard Webhooks (Replicate): the right secret, body and a fresh timestamp only", () => {
    const secret = `whsec_${Buffer.alloc(24, 7).toString("base64")}`;
    const body = JSON.stringify({ id: "p1", status: "succeeded" });
    const ok = standardWebhookCallback(secret, req(body, signReplicateWebhook(secret, body)), (b) =>
      String(b.id),
    );
    expect(ok).toEqual({ kind: "task", upstreamId: "p1" });
    const wrongSecret = `whsec_${Buffer.alloc(24, 8).toString("base64")}`;
    for (const [s, b, h] of [
      [wrongSecret, body, signReplicateWebhook(secret, body)],
      [secret, `${body} `, signReplicateWebhook(secret, body)],
      [secret, body, signReplicateWebhook(secret, body, new Date(Date.now() - 10 * 60_000))],
      [secret, body, {}],
    ] as const)
      expect(standardWebhookCallback(s, req(b, h), () => null).kind).toBe("refused");
  });

  it("fal: ED25519 over the request id, user id, timestamp and body hash, against the JWKS keys", () => {
    const pair = generateKeyPairSync("ed25519");
    const other = generateKeyPairSync("ed25519");
    const keys = ed25519Keys({
      keys: [pair.publicKey.export({ format: "jwk" }), { crv: "X25519", x: "AA" }],
    });
    expect(keys).toHaveLength(1);
    const body = JSON.stringify({ request_id: "r1", status: "OK" });
    const signed = falSignedMessage(req(body, signFalWebhook(pair.privateKey, "r1", body)));
    expect(typeof signed).not.toBe("string");
    if (typeof signed === "string") return;
    expect(falSignatureValid(signed, keys)).toBe(true);
    expect(
      falSignatureValid(signed, ed25519Keys({ keys: [other.publicKey.export({ format: "jwk" })] })),
    ).toBe(false);
    const tampered = falSignedMessage(req(`${body} `, signFalWebhook(pair.privateKey, "r1", body)));
    expect(typeof tampered !== "string" && falSignatureValid(tampered, keys)).toBe(false);
    const stale = signFalWebhook(pair.privateKey, "r1", body, Math.floor(Date.now() / 1000) - 600);
    expect(falSignedMessage(req(body, stale))).toMatch(/more than 5 minutes off/);
    expect(falSignedMessage(req(body, {}))).toMatch(/headers are required/);
  });

  it("reads only JSON objects as callback bodies", () => {
    expect(callbackJson(Buffer.from('{"a":1}'))).toEqual({ a: 1 });
    for (const b of ["[1]", "null", "1", "nope", ""]) expect(callbackJson(Buffer.from(b))).toBeNull();
  });
});
