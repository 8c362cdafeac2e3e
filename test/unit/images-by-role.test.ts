import { describe, expect, it } from "vitest";
import { imagesByRole } from "../../src/adapters/providers/upstream/images.js";
import type { VideoRequest } from "../../src/core/tasks/task.js";

const req = (images: string[], imageRoles?: VideoRequest["imageRoles"]) =>
  ({ images, imageKeys: [], ...(imageRoles ? { imageRoles } : {}) }) as unknown as VideoRequest;

describe("imagesByRole", () => {
  it("takes the first image as the first frame and the rest as references by default", () => {
    const r = imagesByRole(req(["https://a/1.png", "https://a/2.png"]), { imageFiles: ["/w/up.png"] });
    expect(r.firstFrame).toEqual({ url: "https://a/1.png", file: null });
    expect(r.lastFrame).toBeNull();
    expect(r.references).toEqual([
      { url: "https://a/2.png", file: null },
      { url: null, file: "/w/up.png" },
    ]);
  });

  it("follows the roles given, links first and then uploads", () => {
    const r = imagesByRole(req(["https://a/1.png"], ["last_frame", "first_frame"]), {
      imageFiles: ["/w/up.png"],
    });
    expect(r.firstFrame).toEqual({ url: null, file: "/w/up.png" });
    expect(r.lastFrame).toEqual({ url: "https://a/1.png", file: null });
    expect(r.references).toEqual([]);
  });

  it("has no first frame without images", () => {
    expect(imagesByRole(req([]), { imageFiles: [] })).toEqual({
      firstFrame: null,
      lastFrame: null,
      references: [],
    });
  });
});
