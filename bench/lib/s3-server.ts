/**
 * s3rver (the S3-compatible server the S3 test suites use) as its own process, for the benchmarks
 * that run Reelay across processes: `node --import tsx bench/lib/s3-server.ts --port N`. Loopback
 * only, files in a temporary dir removed on SIGTERM. `startS3` spawns it and waits until it answers.
 */
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { startTestS3, type TestS3 } from "../../test/helpers/s3.js";
import { type Child, freePort, spawnNode, waitUntilOk } from "./processes.js";

const BUCKET = "reelay-bench";

/** Starts s3rver in a child process; the environment that keeps Reelay's results in its bucket. */
export async function startS3(): Promise<{ child: Child; env: Record<string, string> }> {
  const port = await freePort();
  const child = await spawnNode(["--import", "tsx", "bench/lib/s3-server.ts", "--port", String(port)], {});
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitUntilOk(child, `${endpoint}/${BUCKET}`, 30_000, 50);
  } catch (e) {
    await child.stop();
    throw e;
  }
  return {
    child,
    env: {
      REELAY_STORAGE: "s3",
      REELAY_S3_BUCKET: BUCKET,
      REELAY_S3_ENDPOINT: endpoint,
      // s3rver's fixed development credentials.
      REELAY_S3_ACCESS_KEY_ID: "S3RVER",
      REELAY_S3_SECRET_ACCESS_KEY: "S3RVER",
      REELAY_S3_FORCE_PATH_STYLE: "true",
      REELAY_S3_DELIVERY: "proxy",
    },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { port: { type: "string", default: "0" } } });
  const s3: TestS3 = await startTestS3(BUCKET, Number(values.port));
  console.log(`listening ${s3.endpoint}`);
  const stop = () => void s3.close().finally(() => process.exit(0));
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}
