/** What every command gets: the API client, the output streams, and the ways of answering. */
import { createWriteStream } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ReelayClient } from "../client/index.js";
import { userPath } from "./args.js";

export interface CliContext {
  readonly env: NodeJS.ProcessEnv;
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
  /** A client for REELAY_URL with REELAY_API_KEY and REELAY_ADMIN_TOKEN. */
  client(): ReelayClient;
  /** JSON for `--json`, the human line otherwise. */
  print(json: boolean, data: unknown, human: string): void;
  /** Streams a task's video (or another variant) to a path the user typed. */
  save(id: string, path: string, variant?: "video" | "thumbnail" | "spritesheet"): Promise<void>;
}

export function cliContext(
  env: NodeJS.ProcessEnv,
  out: (s: string) => void,
  err: (s: string) => void,
): CliContext {
  const client = () =>
    new ReelayClient({
      baseUrl: env.REELAY_URL ?? "http://localhost:8787",
      apiKey: env.REELAY_API_KEY,
      adminToken: env.REELAY_ADMIN_TOKEN,
    });
  return {
    env,
    out,
    err,
    client,
    print: (json, data, human) => out(json ? JSON.stringify(data, null, 2) : human),
    async save(id, path, variant = "video") {
      const res = await client().download(id, variant);
      if (!res.body) throw new Error("empty download");
      await pipeline(
        Readable.fromWeb(res.body as import("node:stream/web").ReadableStream),
        createWriteStream(userPath(env, path)),
      );
    },
  };
}
