import type Docker from "dockerode";
import { execInContainer } from "../docker/exec.js";
import { FailureError } from "../errors.js";

/**
 * Runs inside the container (Open WebUI's image has python3 and sqlite3): finds SQLite databases under
 * the given paths by their header, and copies each with SQLite's online backup API into a private
 * staging directory. The backup API copies a consistent snapshot while the application keeps writing
 * (in WAL mode writers are not even blocked). Staging directories older than 6 hours, left by runs that
 * died, are removed first.
 */
const STAGE_SCRIPT = String.raw`
import json, os, shutil, sqlite3, sys, tempfile, time
MAGIC = b"SQLite format 3\x00"
SIDECARS = ("-wal", "-shm", "-journal")
tmp = tempfile.gettempdir()
for n in os.listdir(tmp):
    p = os.path.join(tmp, n)
    try:
        if n.startswith("owui-backup-") and time.time() - os.stat(p).st_mtime > 6 * 3600:
            shutil.rmtree(p, ignore_errors=True)
    except OSError:
        pass
def is_db(p):
    try:
        with open(p, "rb") as f:
            return f.read(16) == MAGIC
    except OSError:
        return False
def find(roots):
    for root in roots:
        if os.path.isfile(root):
            if not os.path.islink(root) and is_db(root):
                yield root
            continue
        for d, dirs, files in os.walk(root):
            dirs.sort()
            for n in sorted(files):
                p = os.path.join(d, n)
                if n.endswith(SIDECARS) or os.path.islink(p) or not os.path.isfile(p):
                    continue
                if is_db(p):
                    yield p
staging = tempfile.mkdtemp(prefix="owui-backup-")
copies = []
src = None
try:
    for i, src in enumerate(find(sys.argv[1:])):
        dst = os.path.join(staging, "%d.sqlite" % i)
        t0 = time.time()
        s = sqlite3.connect(src, timeout=60)
        try:
            d = sqlite3.connect(dst)
            s.backup(d)
            d.close()
        finally:
            s.close()
        copies.append({"path": src, "staged": dst, "size": os.path.getsize(dst), "ms": int((time.time() - t0) * 1000)})
except Exception as e:
    shutil.rmtree(staging, ignore_errors=True)
    sys.stderr.write("%s: %s\n" % (src, e))
    sys.exit(1)
print(json.dumps({"staging": staging, "copies": copies}))
`;

const REMOVE_SCRIPT = `import shutil, sys; shutil.rmtree(sys.argv[1], ignore_errors=True)`;

export interface StagedCopies {
  staging: string;
  /** Container path of each live database → path of its consistent copy. */
  copies: Map<string, { staged: string; size: number; ms: number }>;
}

export async function stageSqliteCopies(docker: Docker, container: string, roots: string[]): Promise<StagedCopies> {
  const result = await execInContainer(docker, container, ["python3", "-c", STAGE_SCRIPT, ...roots]);
  if (result.exitCode !== 0) {
    throw new FailureError(
      `online SQLite backup inside the container failed: ${result.stderr.trim().split("\n").pop()}; try --mode pause`,
    );
  }
  const parsed = JSON.parse(result.stdout) as { staging: string; copies: { path: string; staged: string; size: number; ms: number }[] };
  return {
    staging: parsed.staging,
    copies: new Map(parsed.copies.map((c) => [c.path, { staged: c.staged, size: c.size, ms: c.ms }])),
  };
}

export async function removeStaging(docker: Docker, container: string, staging: string): Promise<void> {
  await execInContainer(docker, container, ["python3", "-c", REMOVE_SCRIPT, staging]);
}
