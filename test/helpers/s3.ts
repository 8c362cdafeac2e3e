/** A local S3-compatible server (s3rver) for the S3 suites: loopback only, files in a temp dir. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import S3rver from "s3rver";

export interface TestS3 {
  readonly endpoint: string;
  readonly bucket: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Cuts the storage: the server stops and drops every open connection (its files stay). */
  stop(): Promise<void>;
  /** Brings it back on the same port with the same files. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** `port` 0 (the default): any free loopback port. */
export async function startTestS3(bucket = "reelay-test", port = 0): Promise<TestS3> {
  const dir = await mkdtemp(join(tmpdir(), "reelay-s3-"));
  const open = (port: number) =>
    new S3rver({
      address: "127.0.0.1",
      port,
      silent: true,
      directory: dir,
      configureBuckets: [{ name: bucket, configs: [] }],
    });
  let server: S3rver | null = open(port);
  const { port: bound } = await server.run();
  const stop = async () => {
    const s = server;
    server = null;
    if (!s) return;
    const closed = s.close();
    s.httpServer?.closeAllConnections();
    await closed;
  };
  return {
    endpoint: `http://127.0.0.1:${bound}`,
    bucket,
    // s3rver's fixed development credentials.
    accessKeyId: "S3RVER",
    secretAccessKey: "S3RVER",
    stop,
    async restart() {
      await stop();
      server = open(bound);
      await server.run();
    },
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The environment that keeps Reelay's results in this bucket, delivered `delivery`, under `prefix` if given. */
export function s3Env(s3: TestS3, delivery: "proxy" | "redirect", prefix?: string): Record<string, string> {
  return {
    REELAY_STORAGE: "s3",
    REELAY_S3_BUCKET: s3.bucket,
    REELAY_S3_ENDPOINT: s3.endpoint,
    REELAY_S3_ACCESS_KEY_ID: s3.accessKeyId,
    REELAY_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    REELAY_S3_FORCE_PATH_STYLE: "true",
    ...(prefix === undefined ? {} : { REELAY_S3_PREFIX: prefix }),
    REELAY_S3_DELIVERY: delivery,
  };
}
