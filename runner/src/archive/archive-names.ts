/**
 * Archive names for container paths, as seed 000 names its folders: "/app/backend/data" →
 * "app_backend_data", "/root/.ollama" → "root_.ollama". Collisions get a numeric suffix.
 */
export function archiveNames(paths: string[]): Map<string, string> {
  const used = new Set<string>();
  const out = new Map<string, string>();
  for (const p of paths) {
    const base = p.replace(/^\/+|\/+$/g, "").replace(/\//g, "_").replace(/[^A-Za-z0-9._-]/g, "-") || "root";
    let name = base;
    for (let i = 2; used.has(name); i++) name = `${base}-${i}`;
    used.add(name);
    out.set(p, name);
  }
  return out;
}
