import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { dockerAvailable } from "./docker-available.js";

/** Builds the fixture images once, when an engine is there (the script keeps images that exist). */
export default function setup(): void {
  if (!dockerAvailable()) {
    if (process.env.CI) throw new Error("CI is set but no Docker engine answers `docker info`");
    return;
  }
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", "build-images.sh");
  execFileSync("bash", [script], { stdio: "inherit" });
}
