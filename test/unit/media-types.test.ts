/** Telling accepted media from everything else by its first bytes, and reading a JPEG's EXIF orientation. */
import { describe, expect, it } from "vitest";
import {
  inputArgs,
  jpegOrientation,
  orientationFilter,
} from "../../src/adapters/providers/local-renderer/media-input.js";
import { sniffMedia } from "../../src/core/media/media_types.js";
import { TINY_PNG } from "../helpers/images.js";

const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "latin1") : Buffer.from(p))));

describe("sniffMedia", () => {
  it.each([
    ["PNG", TINY_PNG, "png"],
    ["JPEG (JFIF)", bytes([0xff, 0xd8, 0xff, 0xe0, 0, 0x10], "JFIF\0"), "jpeg"],
    ["JPEG (Exif)", bytes([0xff, 0xd8, 0xff, 0xe1, 0, 0x10], "Exif\0\0"), "jpeg"],
    ["WebP", bytes("RIFF", [0x24, 0, 0, 0], "WEBPVP8 "), "webp"],
    ["GIF89a", bytes("GIF89a", [1, 0, 1, 0]), "gif"],
    ["GIF87a", bytes("GIF87a", [1, 0, 1, 0]), "gif"],
    ["MP4", bytes([0, 0, 0, 0x18], "ftypisom", [0, 0, 2, 0], "isomiso2"), "mp4"],
    ["MOV", bytes([0, 0, 0, 0x14], "ftypqt  ", [0, 0, 0, 0], "qt  "), "mp4"],
    ["WebM", bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 1, 0x42, 0x82, 0x84], "webm"), "webm"],
  ])("%s → %s", (_name, head, type) => {
    expect(sniffMedia(head)).toBe(type);
  });

  it.each([
    ["an HLS playlist", "#EXTM3U\n#EXTINF:10,\n/data/blobs/tasks/t/video.mp4\n"],
    ["an ffconcat list", "ffconcat version 1.0\nfile '/data/x.mp4'\n"],
    ["an SDP description", "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\n"],
    ["text", "hello"],
    ["an SVG", '<svg xmlns="http://www.w3.org/2000/svg"/>'],
    ["a Matroska that is not WebM", bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x82, 0x88], "matroska")],
    ["RIFF that is not WebP (WAV)", bytes("RIFF", [0x24, 0, 0, 0], "WAVEfmt ")],
    ["a JPEG SOI alone", bytes([0xff, 0xd8])],
    ["a PNG signature cut short", TINY_PNG.subarray(0, 7)],
    ["nothing", Buffer.alloc(0)],
  ])("refuses %s", (_name, head) => {
    expect(sniffMedia(Buffer.from(head))).toBeNull();
  });
});

describe("forced input arguments", () => {
  it("pins each type to its demuxer and plain files", () => {
    expect(inputArgs({ path: "/w/a", type: "png" })).toEqual([
      "-protocol_whitelist",
      "file",
      "-f",
      "png_pipe",
      "-i",
      "/w/a",
    ]);
    expect(inputArgs({ path: "/w/v", type: "mp4" }, ["-ss", "1"])).toEqual([
      ...["-protocol_whitelist", "file", "-f", "mov,mp4,m4a,3gp,3g2,mj2", "-ss", "1", "-i", "/w/v"],
    ]);
  });
});

describe("jpegOrientation", () => {
  const exif = (order: "II" | "MM", value: number) => {
    const le = order === "II";
    const t = Buffer.alloc(26);
    t.write(order, 0, "latin1");
    le ? t.writeUInt16LE(42, 2) : t.writeUInt16BE(42, 2);
    le ? t.writeUInt32LE(8, 4) : t.writeUInt32BE(8, 4);
    le ? t.writeUInt16LE(1, 8) : t.writeUInt16BE(1, 8);
    le ? t.writeUInt16LE(0x0112, 10) : t.writeUInt16BE(0x0112, 10);
    le ? t.writeUInt16LE(3, 12) : t.writeUInt16BE(3, 12);
    le ? t.writeUInt32LE(1, 14) : t.writeUInt32BE(1, 14);
    le ? t.writeUInt16LE(value, 18) : t.writeUInt16BE(value, 18);
    const body = bytes("Exif\0\0", [...t]);
    const len = body.length + 2;
    // SOI, an APP0 first (as encoders write it), then APP1.
    return bytes([0xff, 0xd8, 0xff, 0xe0, 0, 4, 0, 0, 0xff, 0xe1, len >> 8, len & 0xff], [...body]);
  };

  it("reads the tag in either byte order, and says 1 without one", () => {
    expect(jpegOrientation(exif("MM", 6))).toBe(6);
    expect(jpegOrientation(exif("II", 8))).toBe(8);
    expect(jpegOrientation(exif("II", 42))).toBe(1);
    expect(jpegOrientation(bytes([0xff, 0xd8, 0xff, 0xda]))).toBe(1);
    expect(jpegOrientation(exif("MM", 6).subarray(0, 20))).toBe(1);
  });

  it("turns each orientation upright", () => {
    expect(orientationFilter(1)).toEqual([]);
    expect(orientationFilter(6)).toEqual(["transpose=clock"]);
    expect(orientationFilter(8)).toEqual(["transpose=cclock"]);
    expect(orientationFilter(3)).toEqual(["hflip", "vflip"]);
  });
});
