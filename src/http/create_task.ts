/** Every create route ends here: the prompt's `@username` characters are resolved, then the task is made. */
import type { FastifyRequest } from "fastify";
import type { Task, VideoRequest } from "../core/task.js";
import type { AppServices } from "./services.js";

export async function createTask(
  s: AppServices,
  req: FastifyRequest,
  ownerId: string,
  request: VideoRequest,
): Promise<Task> {
  const characters = await s.characters.mentioned(ownerId, request.prompt);
  return s.engine.create(ownerId, characters.length > 0 ? { ...request, characters } : request, {
    requestId: req.id,
  });
}
