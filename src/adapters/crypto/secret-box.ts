/**
 * Encryption at rest for secrets Reelay must keep readable (webhook signing secrets: it signs with
 * them, so it cannot store a hash as it does for API keys). AES-256-GCM with a key derived by HKDF
 * from the server's signing secret and a purpose, each value bound to its row (the `context`: a
 * ciphertext moved to another row does not open). A database dump alone reveals none of them.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

export interface SecretBox {
  /** The stored form of `plain`, bound to `context` (e.g. the row's id). */
  seal(plain: string, context: string): string;
  /**
   * The secret back. Values stored before encryption at rest (no prefix) are returned as they are.
   * Throws when the value does not open: another master secret, another row, or tampering.
   */
  open(stored: string, context: string): string;
}

const PREFIX = "enc1:";
/** A SQL LIKE pattern matching sealed values (to find those stored in clear). */
export const SEALED_LIKE = `${PREFIX}%`;

export function createSecretBox(masterSecret: string, purpose: string): SecretBox {
  const key = Buffer.from(hkdfSync("sha256", masterSecret, Buffer.alloc(0), `reelay:${purpose}`, 32));
  return {
    seal(plain, context) {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      cipher.setAAD(Buffer.from(context));
      const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
      return PREFIX + Buffer.concat([iv, body, cipher.getAuthTag()]).toString("base64url");
    },
    open(stored, context) {
      if (!stored.startsWith(PREFIX)) return stored;
      const raw = Buffer.from(stored.slice(PREFIX.length), "base64url");
      if (raw.length < 12 + 16) throw new Error("the stored secret is truncated");
      const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
      decipher.setAAD(Buffer.from(context));
      decipher.setAuthTag(raw.subarray(raw.length - 16));
      try {
        return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString(
          "utf8",
        );
      } catch {
        throw new Error(
          "the stored secret does not open with this server's key (was REELAY_SIGNING_SECRET changed?)",
        );
      }
    },
  };
}
