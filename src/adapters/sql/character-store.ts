import type { Kysely, Selectable } from "kysely";
import type { Character, CharacterStore } from "../../core/characters/ports.js";
import type { CharactersTable, DB } from "./schema.js";

const toCharacter = (r: Selectable<CharactersTable>): Character => ({
  id: r.id,
  ownerId: r.owner_id,
  username: r.username,
  name: r.name,
  videoKey: r.video_key,
  startS: r.start_s,
  endS: r.end_s,
  sourceTaskId: r.source_task_id,
  pictureKey: r.picture_key,
  public: r.public === 1,
  createdAt: r.created_at,
});

export function createSqlCharacterStore(db: Kysely<DB>): CharacterStore {
  return {
    async insert(c) {
      const r = await db
        .insertInto("characters")
        .values({
          id: c.id,
          owner_id: c.ownerId,
          username: c.username,
          name: c.name,
          video_key: c.videoKey,
          start_s: c.startS,
          end_s: c.endS,
          source_task_id: c.sourceTaskId,
          picture_key: c.pictureKey,
          public: c.public ? 1 : 0,
          created_at: c.createdAt,
        })
        .onConflict((oc) => oc.column("username").doNothing())
        .executeTakeFirst();
      return (r.numInsertedOrUpdatedRows ?? 0n) > 0n;
    },
    async get(id) {
      const r = await db.selectFrom("characters").selectAll().where("id", "=", id).executeTakeFirst();
      return r ? toCharacter(r) : undefined;
    },
    async findByUsernames(usernames) {
      if (usernames.length === 0) return [];
      const rows = await db
        .selectFrom("characters")
        .selectAll()
        .where("username", "in", [...usernames])
        .execute();
      return rows.map(toCharacter);
    },
  };
}
