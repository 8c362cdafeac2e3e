/** Whether a module is the program node was started with, also when started through a symlink. */
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * True when `moduleUrl` (a module's `import.meta.url`) is the script in `argv1`. Node loads the
 * main module from its real path while `process.argv[1]` keeps the path as typed, which for
 * `npm link`, a global install or `npx` is a symlink in a bin directory: compare real paths.
 */
export function isEntryPoint(moduleUrl: string, argv1: string | undefined = process.argv[1]): boolean {
  if (!argv1) return false;
  try {
    return realpathSync(fileURLToPath(moduleUrl)) === realpathSync(argv1);
  } catch {
    return false;
  }
}
