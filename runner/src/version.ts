import fs from "node:fs";

/** The runner's own version, from its package.json. */
export const TOOL_VERSION: string = (
  JSON.parse(fs.readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;
