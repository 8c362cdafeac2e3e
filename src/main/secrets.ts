/**
 * Secrets kept in the data dir when the environment does not give them: the admin token and the
 * link-signing key. Created once with mode 0600; their paths are logged, never their contents.
 */
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { newSecret } from "../core/ids.js";

export interface FileSecret {
  readonly value: string;
  /** Set when the secret lives in a file (created now or earlier). */
  readonly path: string | null;
  readonly created: boolean;
}

export function fileSecret(dataDir: string, name: string, fromEnv: string | undefined): FileSecret {
  if (fromEnv !== undefined) return { value: fromEnv, path: null, created: false };
  const path = join(dataDir, name);
  try {
    // "wx": never overwrite a secret another start already wrote.
    const value = newSecret();
    writeFileSync(path, `${value}\n`, { mode: 0o600, flag: "wx" });
    return { value, path, created: true };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
  }
  chmodSync(path, 0o600);
  const value = readFileSync(path, "utf8").trim();
  if (value.length < 16) throw new Error(`${path} holds no usable secret: delete it to have a new one made`);
  return { value, path, created: false };
}
