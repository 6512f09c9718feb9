import { describe, expect, it } from "vitest";
import { detectExternalData, externalWarning, withoutCredentials } from "../../../runner/src/steps/detect-external.js";

describe("external data detection", () => {
  it("finds nothing for the default SQLite + Chroma + local uploads set-up", () => {
    expect(detectExternalData({ DATABASE_URL: "sqlite:////app/backend/data/webui.db", VECTOR_DB: "chroma" })).toEqual([]);
    expect(detectExternalData({})).toEqual([]);
  });

  it("records PostgreSQL, an external vector DB and object storage without credentials", () => {
    const found = detectExternalData({
      DATABASE_URL: "postgresql://owui:S3cretPw@db.internal:5432/owui?sslmode=require",
      VECTOR_DB: "qdrant",
      QDRANT_URI: "https://apikey:hunter2@qdrant:6333",
      STORAGE_PROVIDER: "s3",
      S3_BUCKET_NAME: "uploads",
      S3_SECRET_ACCESS_KEY: "AKIASECRET",
    });
    expect(found).toEqual([
      { kind: "database", target: "postgresql://db.internal:5432/owui", variable: "DATABASE_URL" },
      { kind: "vector-db", target: "qdrant https://qdrant:6333", variable: "VECTOR_DB" },
      { kind: "file-storage", target: "s3 uploads", variable: "STORAGE_PROVIDER" },
    ]);
    const line = externalWarning(found);
    expect(line).not.toMatch(/S3cretPw|hunter2|AKIASECRET|sslmode/);
    expect(line).not.toContain("\n");
  });

  it("never echoes an unparsable value", () => {
    expect(withoutCredentials("postgres user=x password=secret host=db")).toBe("(unparsed value)");
  });
});
