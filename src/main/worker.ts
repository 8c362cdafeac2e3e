/** `reelay worker`: runs jobs only (no HTTP), next to any number of API and worker processes. */
import { runProcess } from "./serve.js";

runProcess("worker").catch((e) => {
  console.error(e);
  process.exit(1);
});
