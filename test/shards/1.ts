/** Half of the test suite in one process (see loader.ts). */
import { loadShard } from "./loader";

loadShard(1, 2);
