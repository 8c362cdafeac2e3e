/** Ports: stored characters (reusable people/objects for prompts). */

/** A character (cameo): a short span of a video, usable in prompts as `@username`. */
export interface Character {
  readonly id: string;
  readonly ownerId: string;
  readonly username: string;
  readonly name: string;
  readonly videoKey: string;
  readonly startS: number;
  readonly endS: number;
  /** The task it was made from; null for an uploaded video. */
  readonly sourceTaskId: string | null;
  /** A still to show for it (blob key), when there is one. */
  readonly pictureKey: string | null;
  /** Usable by anyone: made from a published video. A character from a private or unlisted video stays its owner's. */
  readonly public: boolean;
  readonly createdAt: number;
}

export interface CharacterStore {
  /** Stores a character; false when its username is taken (nothing written). */
  insert(c: Character): Promise<boolean>;
  get(id: string): Promise<Character | undefined>;
  findByUsernames(usernames: readonly string[]): Promise<Character[]>;
}
