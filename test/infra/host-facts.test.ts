import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { findProjectRoot, readHostFacts } from "../../infra/host-facts.js";

/** The facts the program reads from this machine, with a stand-in docker CLI that records its calls. */
let bin: string;
let saved: string | undefined;
beforeEach(() => {
  bin = fs.mkdtempSync(path.join(os.tmpdir(), "owui-docker-cli-"));
  saved = process.env.PATH;
});
afterEach(() => {
  process.env.PATH = saved;
  fs.rmSync(bin, { recursive: true, force: true });
});

function dockerCli(script: string) {
  fs.writeFileSync(path.join(bin, "docker"), `#!/bin/sh\necho "$*" >> "${bin}/calls"\n${script}\n`, { mode: 0o755 });
  process.env.PATH = `${bin}:/usr/bin:/bin`;
}

describe("host facts", () => {
  test("the current context's endpoint and the engine's platform come from the docker CLI, -H for another engine", () => {
    dockerCli('case "$*" in *context*) echo unix:///home/ada/.colima/default/docker.sock;; *version*) echo linux/arm64;; esac');
    const facts = readHostFacts();
    expect(facts.dockerContextHost()).toBe("unix:///home/ada/.colima/default/docker.sock");
    expect(facts.enginePlatform("ssh://ada@nas")).toBe("linux/arm64");
    expect(fs.readFileSync(path.join(bin, "calls"), "utf8")).toBe(
      "context inspect --format {{.Endpoints.docker.Host}}\n-H ssh://ada@nas version --format {{.Server.Os}}/{{.Server.Arch}}\n",
    );
  });

  test("no docker CLI, or an engine that does not answer: undefined, never a guess", () => {
    process.env.PATH = bin;
    expect(readHostFacts().dockerContextHost()).toBeUndefined();
    dockerCli("echo 'Cannot connect to the Docker daemon' >&2; exit 1");
    expect(readHostFacts().enginePlatform(undefined)).toBeUndefined();
  });

  test("the project root is where Pulumi.yaml is, found from infra/ (where the engine runs the program)", () => {
    expect(findProjectRoot(path.resolve("infra"))).toBe(path.resolve("."));
  });
});
