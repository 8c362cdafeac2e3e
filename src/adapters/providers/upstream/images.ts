/**
 * A request's input images by role, for adapters that send them to a provider: each is a link
 * (the provider or Reelay fetches it) or a local file (an upload Reelay copied into the attempt's
 * work dir). Links come first, then uploads, as in VideoRequest.
 */
import type { ImageRole, VideoRequest } from "../../../core/tasks/task.js";
import type { SubmitContext } from "../../../core/upstream/ports.js";

export type InputImage =
  | { readonly url: string; readonly file: null }
  | { readonly url: null; readonly file: string };

export interface ImagesByRole {
  readonly firstFrame: InputImage | null;
  readonly lastFrame: InputImage | null;
  readonly references: readonly InputImage[];
}

export function imagesByRole(request: VideoRequest, ctx: Pick<SubmitContext, "imageFiles">): ImagesByRole {
  const all: InputImage[] = [
    ...request.images.map((url) => ({ url, file: null })),
    ...ctx.imageFiles.map((file) => ({ url: null, file })),
  ];
  const roleOf = (i: number): ImageRole => request.imageRoles?.[i] ?? (i === 0 ? "first_frame" : "reference");
  let firstFrame: InputImage | null = null;
  let lastFrame: InputImage | null = null;
  const references: InputImage[] = [];
  all.forEach((img, i) => {
    const role = roleOf(i);
    if (role === "first_frame" && !firstFrame) firstFrame = img;
    else if (role === "last_frame" && !lastFrame) lastFrame = img;
    else references.push(img);
  });
  return { firstFrame, lastFrame, references };
}
