/** Storyboards' started shots in SQL: one row per (storyboard, shot index), naming its child task. */
import type { Kysely } from "kysely";
import type { StoryboardStore } from "../../core/storyboards/ports.js";
import { connOf, type DB } from "./schema.js";

export function createSqlStoryboardStore(db: Kysely<DB>): StoryboardStore {
  return {
    async addShot(parentId, shot, tx) {
      const r = await connOf(db, tx)
        .insertInto("storyboard_shots")
        .values({
          parent_id: parentId,
          shot_index: shot.index,
          child_id: shot.childId,
          created_at: shot.createdAt,
        })
        .onConflict((oc) => oc.columns(["parent_id", "shot_index"]).doNothing())
        .executeTakeFirst();
      return (r.numInsertedOrUpdatedRows ?? 0n) > 0n;
    },
    async shots(parentId, tx) {
      const rows = await connOf(db, tx)
        .selectFrom("storyboard_shots")
        .select(["shot_index", "child_id"])
        .where("parent_id", "=", parentId)
        .orderBy("shot_index")
        .execute();
      return rows.map((r) => ({ index: Number(r.shot_index), childId: r.child_id }));
    },
    async remove(parentId, tx) {
      await connOf(db, tx).deleteFrom("storyboard_shots").where("parent_id", "=", parentId).execute();
    },
  };
}
