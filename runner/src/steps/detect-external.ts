import type { ExternalRecord } from "../snapshot/manifest.js";

/**
 * Open WebUI data that lives outside the container and therefore outside a snapshot: a PostgreSQL (or
 * other) DATABASE_URL, an external vector database, or uploads in object storage. Targets are recorded
 * without credentials.
 */
export function detectExternalData(env: Record<string, string>): ExternalRecord[] {
  const found: ExternalRecord[] = [];
  const databaseUrl = env.DATABASE_URL;
  if (databaseUrl && !/^sqlite/i.test(databaseUrl)) {
    found.push({ kind: "database", target: withoutCredentials(databaseUrl), variable: "DATABASE_URL" });
  }
  const vectorDb = (env.VECTOR_DB ?? "chroma").toLowerCase();
  if (vectorDb && vectorDb !== "chroma") {
    const urlVariable = ["QDRANT_URI", "MILVUS_URI", "PGVECTOR_DB_URL", "OPENSEARCH_URI", "ELASTICSEARCH_URL", "PINECONE_ENVIRONMENT"].find(
      (v) => env[v],
    );
    const target = urlVariable ? `${vectorDb} ${withoutCredentials(env[urlVariable] as string)}` : vectorDb;
    found.push({ kind: "vector-db", target, variable: "VECTOR_DB" });
  } else if (env.CHROMA_HTTP_HOST) {
    found.push({ kind: "vector-db", target: `chroma http ${env.CHROMA_HTTP_HOST}`, variable: "CHROMA_HTTP_HOST" });
  }
  const storage = (env.STORAGE_PROVIDER ?? "").toLowerCase();
  if (storage && storage !== "local") {
    const bucket = env.S3_BUCKET_NAME ?? env.GCS_BUCKET_NAME ?? env.AZURE_STORAGE_CONTAINER_NAME;
    found.push({ kind: "file-storage", target: bucket ? `${storage} ${bucket}` : storage, variable: "STORAGE_PROVIDER" });
  }
  return found;
}

/** "postgresql://user:pw@db:5432/owui?sslmode=x" → "postgresql://db:5432/owui". */
export function withoutCredentials(value: string): string {
  try {
    const url = new URL(value);
    return `${url.protocol}//${url.host}${url.pathname === "/" ? "" : url.pathname}`;
  } catch {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(value)?.[1];
    return scheme ? `${scheme}://…` : "(unparsed value)";
  }
}

export function externalWarning(external: ExternalRecord[]): string {
  return `data outside the container is not in this snapshot, back it up separately: ${external
    .map((e) => `${e.kind} ${e.target} (${e.variable})`)
    .join("; ")}`;
}
