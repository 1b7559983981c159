/** Module a netns Worker is started from (see netns_worker.ts). */
import { runNetnsWorker } from "./netns_worker.ts";
runNetnsWorker();
