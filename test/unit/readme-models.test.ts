/**
 * The docs say what the code does: README's capability table and `reelay create --help` are
 * generated from the default model table. This compares; it never writes README (run
 * `npm run docs:models` to refresh it).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { program } from "../../src/cli/main.js";
import {
  capabilityHelp,
  capabilityTableMarkdown,
  TABLE_END,
  TABLE_START,
  withCapabilityTable,
} from "../../src/core/catalogue/capability_table.js";
import { DEFAULT_MODELS } from "../../src/core/catalogue/models.js";

describe("the capability table in the docs", () => {
  it("README's table is the one the model table generates (npm run docs:models)", async () => {
    const readme = await readFile(join(import.meta.dirname, "..", "..", "README.md"), "utf8");
    const start = readme.indexOf(TABLE_START);
    const end = readme.indexOf(TABLE_END);
    expect(start, "README.md has the table's start marker").toBeGreaterThan(-1);
    expect(end, "README.md has the table's end marker after the start").toBeGreaterThan(start);
    expect(readme.slice(start + TABLE_START.length, end).trim()).toBe(
      capabilityTableMarkdown(DEFAULT_MODELS),
    );
    // What the generator would write is what is there.
    expect(withCapabilityTable(readme, capabilityTableMarkdown(DEFAULT_MODELS))).toBe(readme);
  });

  it("names each model's sizes: sora-2 takes only small, sora-2-pro also large", () => {
    const md = capabilityTableMarkdown(DEFAULT_MODELS);
    expect(md).toContain("| `sora-2` | `sora-2` | `small` | 10, 15 |");
    expect(md).toContain("| `sora-2-pro` | `sora-2` | `small`, `large` | 10, 15, 25 |");
    for (const m of DEFAULT_MODELS) expect(md).toContain(`| \`${m.name}\` |`);
  });

  it("`reelay create --help` lists every model with its sizes and durations", async () => {
    let text = "";
    const p = program(
      {},
      (s) => (text += s),
      (s) => (text += s),
    );
    await expect(p.parseAsync(["create", "--help"], { from: "user" })).rejects.toMatchObject({
      code: "commander.helpDisplayed",
    });
    expect(text).toContain(capabilityHelp(DEFAULT_MODELS));
    expect(text).toMatch(/^ {2}sora-2 +--size small +--duration 10\|15$/m);
    expect(text).toMatch(/^ {2}sora-2-pro +--size small\|large +--duration 10\|15\|25$/m);
  });
});
