/**
 * `npm run docs:models`: writes the capability table, generated from the default model table
 * (src/core/catalogue/models.ts), into README.md between its markers. `--check` writes nothing and exits 1
 * when README's table differs (test/unit/readme-models.test.ts does the same check in the suite).
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  capabilityTableMarkdown,
  TABLE_END,
  TABLE_START,
  withCapabilityTable,
} from "../src/core/catalogue/capability_table.js";
import { DEFAULT_MODELS } from "../src/core/catalogue/models.js";

const readmePath = join(import.meta.dirname, "..", "README.md");
const readme = await readFile(readmePath, "utf8");
const updated = withCapabilityTable(readme, capabilityTableMarkdown(DEFAULT_MODELS));
if (updated === undefined) {
  console.error(`README.md lacks the markers ${TABLE_START} … ${TABLE_END}`);
  process.exit(1);
}
if (updated === readme) {
  process.stdout.write("README.md: the capability table is up to date\n");
} else if (process.argv.includes("--check")) {
  console.error(
    "README.md: the capability table differs from src/core/catalogue/models.ts; run npm run docs:models",
  );
  process.exit(1);
} else {
  await writeFile(readmePath, updated);
  process.stdout.write("README.md: capability table written\n");
}
