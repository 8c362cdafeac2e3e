/**
 * How an untrusted file reaches ffmpeg or ffprobe: its type is sniffed from its bytes (core/media_types),
 * then the demuxer of that type is forced and only the `file` protocol is allowed. ffmpeg left to guess
 * would follow an HLS playlist, an ffconcat list or an SDP description to other files or hosts; a forced
 * image or MP4 demuxer reads the file as that format or fails.
 */
import { open } from "node:fs/promises";
import {
  type ImageType,
  isImageType,
  isVideoType,
  type MediaType,
  SNIFF_BYTES,
  sniffMedia,
  type VideoType,
} from "../../../core/media/media_types.js";

/** A local file and the type its bytes were sniffed as. */
export interface MediaInput {
  /** Absolute path. */
  readonly path: string;
  readonly type: MediaType;
}

export interface ImageInput extends MediaInput {
  readonly type: ImageType;
  /** EXIF orientation (1–8) of a JPEG; 1 (as stored) for every other image. */
  readonly orientation: number;
}

export interface VideoInput extends MediaInput {
  readonly type: VideoType;
}

/** ffmpeg's demuxer for each accepted type. Images are single pictures: the `*_pipe` demuxers. */
const DEMUXER: Readonly<Record<MediaType, string>> = {
  png: "png_pipe",
  jpeg: "jpeg_pipe",
  webp: "webp_pipe",
  gif: "gif",
  mp4: "mov,mp4,m4a,3gp,3g2,mj2",
  webm: "matroska,webm",
};

/**
 * The input options that pin `input` to its sniffed format and to plain file reads, ending with
 * `-i path`; `extra` input options (`-ss`, `-stream_loop`, …) go just before `-i`.
 */
export function inputArgs(input: MediaInput, extra: readonly string[] = []): string[] {
  return ["-protocol_whitelist", "file", "-f", DEMUXER[input.type], ...extra, "-i", input.path];
}

/** The first bytes of the file at `path` (fewer when it is shorter). */
export async function readHead(path: string, bytes: number): Promise<Buffer> {
  const f = await open(path, "r");
  try {
    const { buffer, bytesRead } = await f.read(Buffer.alloc(bytes), 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await f.close();
  }
}

/** The accepted type of the file at `path`, or null. */
export async function sniffFile(path: string): Promise<MediaType | null> {
  return sniffMedia(await readHead(path, SNIFF_BYTES));
}

/** The file as an image input, or null when its bytes are not an accepted image. */
export async function imageInput(path: string): Promise<ImageInput | null> {
  const type = await sniffFile(path);
  if (!isImageType(type)) return null;
  const orientation = type === "jpeg" ? jpegOrientation(await readHead(path, EXIF_SEARCH_BYTES)) : 1;
  return { path, type, orientation };
}

/** The file as a video input, or null when its bytes are not an accepted video. */
export async function videoInput(path: string): Promise<VideoInput | null> {
  const type = await sniffFile(path);
  return isVideoType(type) ? { path, type } : null;
}

/** EXIF lives in an APP1 segment near the start: one segment is at most 64 KiB. */
const EXIF_SEARCH_BYTES = 128 * 1024;

/**
 * The EXIF Orientation (tag 0x0112 of IFD0) of a JPEG whose first bytes are `jpeg`; 1 when absent or
 * unreadable. Phones store portrait photos sideways with Orientation 6 or 8; ffmpeg's JPEG decoder
 * ignores the tag, so the renderer turns the picture itself (orientationFilter).
 */
export function jpegOrientation(jpeg: Uint8Array): number {
  const b = Buffer.from(jpeg.buffer, jpeg.byteOffset, jpeg.byteLength);
  let at = 2;
  while (at + 4 <= b.length && b[at] === 0xff) {
    const marker = b[at + 1] ?? 0;
    // Start of scan or end of image: no more header segments.
    if (marker === 0xda || marker === 0xd9) return 1;
    const length = b.readUInt16BE(at + 2);
    const body = at + 4;
    if (marker === 0xe1 && b.toString("latin1", body, body + 6) === "Exif\0\0") {
      return tiffOrientation(b.subarray(body + 6, Math.min(b.length, at + 2 + length)));
    }
    at += 2 + length;
  }
  return 1;
}

function tiffOrientation(t: Buffer): number {
  if (t.length < 8) return 1;
  const order = t.toString("latin1", 0, 2);
  if (order !== "II" && order !== "MM") return 1;
  const le = order === "II";
  const u16 = (o: number) => (le ? t.readUInt16LE(o) : t.readUInt16BE(o));
  const u32 = (o: number) => (le ? t.readUInt32LE(o) : t.readUInt32BE(o));
  const ifd = u32(4);
  if (ifd + 2 > t.length) return 1;
  const count = u16(ifd);
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > t.length) return 1;
    if (u16(entry) === 0x0112) {
      const value = u16(entry + 8);
      return value >= 1 && value <= 8 ? value : 1;
    }
  }
  return 1;
}

/**
 * The filters that show an image stored with EXIF `orientation` upright; empty for 1. ffmpeg is run with
 * `-noautorotate` on images so a build that learns to honour the tag cannot turn the picture twice.
 */
export function orientationFilter(orientation: number): string[] {
  switch (orientation) {
    case 2:
      return ["hflip"];
    case 3:
      return ["hflip", "vflip"];
    case 4:
      return ["vflip"];
    case 5:
      return ["transpose=cclock_flip"];
    case 6:
      return ["transpose=clock"];
    case 7:
      return ["transpose=clock_flip"];
    case 8:
      return ["transpose=cclock"];
    default:
      return [];
  }
}
