/**
 * The media types Reelay accepts from users and upstreams, told apart by their first bytes (magic
 * numbers), never by a declared content type or a file name: ffmpeg guesses formats from content, so
 * bytes declared `image/png` may be an HLS playlist or a concat list that makes it read other files.
 * A short table of our own rather than a library (file-type): we accept six signatures, want each
 * checked strictly (the ISO-BMFF `ftyp` box, RIFF's `WEBP` tag, the WebM doc type) and everything else
 * refused, and the table stays readable next to the demuxer each type is forced onto.
 */

export type ImageType = "png" | "jpeg" | "webp" | "gif";
/** `mp4` is any ISO-BMFF file that opens with an `ftyp` box (MP4, MOV, 3GP, M4V). */
export type VideoType = "mp4" | "webm";
export type MediaType = ImageType | VideoType;

/** How many leading bytes sniffMedia needs to decide. */
export const SNIFF_BYTES = 64;

export const IMAGE_TYPES: readonly ImageType[] = ["png", "jpeg", "webp", "gif"];
export const VIDEO_TYPES: readonly VideoType[] = ["mp4", "webm"];

/** The content type an accepted image is stored and served with (its bytes decide, not the sender). */
export const IMAGE_MIME: Readonly<Record<ImageType, string>> = {
  png: "image/png",
  jpeg: "image/jpeg",
  webp: "image/webp",
  gif: "image/gif",
};

/** For error messages: what an image or a video may be. */
export const ALLOWED_IMAGES_TEXT = "a PNG, JPEG, WebP or GIF image";
export const ALLOWED_VIDEOS_TEXT = "an MP4, MOV or WebM video";

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const EBML = [0x1a, 0x45, 0xdf, 0xa3];

const startsWith = (b: Uint8Array, sig: readonly number[], at = 0): boolean =>
  b.length >= at + sig.length && sig.every((v, i) => b[at + i] === v);
const ascii = (b: Uint8Array, at: number, text: string): boolean =>
  startsWith(
    b,
    Array.from(text, (c) => c.charCodeAt(0)),
    at,
  );

/** The type of the media whose first bytes are `head` (SNIFF_BYTES suffice), or null when not accepted. */
export function sniffMedia(head: Uint8Array): MediaType | null {
  if (startsWith(head, PNG)) return "png";
  // SOI then the first segment's marker (APPn, DQT, SOF, DHT, COM…): 0xFF followed by a marker byte.
  if (startsWith(head, [0xff, 0xd8, 0xff]) && (head[3] ?? 0) >= 0xc0 && head[3] !== 0xff) return "jpeg";
  if (ascii(head, 0, "RIFF") && ascii(head, 8, "WEBP")) return "webp";
  if (ascii(head, 0, "GIF87a") || ascii(head, 0, "GIF89a")) return "gif";
  if (ascii(head, 4, "ftyp") && boxSize(head) >= 8) return "mp4";
  if (startsWith(head, EBML) && containsAscii(head, "webm")) return "webm";
  return null;
}

export const isImageType = (t: MediaType | null): t is ImageType =>
  t !== null && (IMAGE_TYPES as readonly string[]).includes(t);
export const isVideoType = (t: MediaType | null): t is VideoType =>
  t !== null && (VIDEO_TYPES as readonly string[]).includes(t);

const boxSize = (b: Uint8Array): number =>
  (((b[0] ?? 0) << 24) | ((b[1] ?? 0) << 16) | ((b[2] ?? 0) << 8) | (b[3] ?? 0)) >>> 0;

/** The EBML header names its DocType (`webm`) within its first few dozen bytes. */
function containsAscii(b: Uint8Array, text: string): boolean {
  for (let i = 4; i + text.length <= b.length; i++) if (ascii(b, i, text)) return true;
  return false;
}
