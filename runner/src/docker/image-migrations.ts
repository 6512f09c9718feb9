import type Docker from "dockerode";
import { execInContainer } from "./exec.js";
import { HELPER_LABEL } from "./helper-container.js";

/**
 * Lists the Alembic revisions an Open WebUI image's migrations know (open_webui/migrations/versions)
 * and their head, without importing Open WebUI (its import reads configuration and the database).
 * Works for the official layout (/app/backend/open_webui, found from the working directory) and for an
 * installed package alike.
 */
const SCRIPT = String.raw`
import importlib.util, json, os, re
spec = importlib.util.find_spec("open_webui")
if spec is None or not spec.submodule_search_locations:
    raise SystemExit(3)
d = os.path.join(list(spec.submodule_search_locations)[0], "migrations", "versions")
revisions, parents = [], set()
for name in sorted(os.listdir(d)):
    if not name.endswith(".py"):
        continue
    with open(os.path.join(d, name), encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"^revision(?:\s*:\s*[^=]+)?\s*=\s*['\"]([^'\"]+)['\"]", text, re.M)
    if not m:
        continue
    revisions.append(m.group(1))
    down = re.search(r"^down_revision(?:\s*:\s*[^=]+)?\s*=\s*(.+)$", text, re.M)
    if down:
        parents.update(re.findall(r"['\"]([^'\"]+)['\"]", down.group(1)))
print(json.dumps({"revisions": revisions, "heads": [r for r in revisions if r not in parents]}))
`;

export interface Migrations {
  revisions: string[];
  heads: string[];
}

/**
 * The migrations of `image`: asked in `container` when it runs that image, else in a short-lived
 * container of the image (no network, removed afterwards). Undefined when the image cannot tell (no
 * python3, not Open WebUI).
 */
export async function imageMigrations(docker: Docker, image: string, container?: { id: string; image: string; running: boolean }): Promise<Migrations | undefined> {
  try {
    if (container?.running && container.image === image) {
      const result = await execInContainer(docker, container.id, ["python3", "-c", SCRIPT]);
      return result.exitCode === 0 ? (JSON.parse(result.stdout) as Migrations) : undefined;
    }
    const helper = await docker.createContainer({
      Image: image,
      Entrypoint: ["python3", "-c", SCRIPT],
      Cmd: [],
      Tty: true,
      Labels: { [HELPER_LABEL]: "true" },
      NetworkDisabled: true,
      HostConfig: { NetworkMode: "none", AutoRemove: false },
    });
    try {
      await helper.start();
      const { StatusCode } = (await helper.wait()) as { StatusCode: number };
      if (StatusCode !== 0) return undefined;
      const out = ((await helper.logs({ stdout: true, stderr: false })) as unknown as Buffer).toString("utf8").trim();
      return JSON.parse(out.split("\n").pop() ?? "") as Migrations;
    } finally {
      await helper.remove({ force: true }).catch(() => undefined);
    }
  } catch {
    return undefined;
  }
}
