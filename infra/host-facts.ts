import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { HostFacts } from "./config.js";

/** The directory holding Pulumi.yaml, from `from` upwards (the engine runs the program in infra/). */
export function findProjectRoot(from = process.cwd()): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(from);
  }
}

/** What the docker CLI prints, or undefined when it cannot be asked (no CLI, no engine). */
function dockerCli(args: string[]): string | undefined {
  try {
    return execFileSync("docker", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 15_000 }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Facts about the machine running `pulumi up`. */
export function readHostFacts(): HostFacts {
  const info = process.platform === "win32" ? undefined : os.userInfo();
  return {
    projectRoot: findProjectRoot(),
    dockerContextHost: () => dockerCli(["context", "inspect", "--format", "{{.Endpoints.docker.Host}}"]),
    enginePlatform: (dockerHost) => {
      const server = dockerCli([...(dockerHost ? ["-H", dockerHost] : []), "version", "--format", "{{.Server.Os}}/{{.Server.Arch}}"]);
      return server && /^[a-z0-9]+\/[a-z0-9]+$/.test(server) ? server : undefined;
    },
    platform: process.platform,
    homedir: os.homedir(),
    env: process.env,
    uid: info?.uid,
    gid: info?.gid,
    socketOwner: (socket) => {
      try {
        const st = fs.statSync(socket);
        return { uid: st.uid, gid: st.gid };
      } catch {
        return undefined;
      }
    },
  };
}
