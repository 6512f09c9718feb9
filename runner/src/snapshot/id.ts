/**
 * Snapshot ids are the UTC time as YYYYMMDD_HHMMSS (seed 000's format). Two snapshots in one second get
 * _01, _02 … appended, which still sorts after the plain id.
 */
const ID_PATTERN = /^\d{8}_\d{6}(_\d{2})?$/;

export function isSnapshotId(value: string): boolean {
  return ID_PATTERN.test(value);
}

export function baseIdFor(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return (
    `${date.getUTCFullYear()}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}_` +
    `${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}`
  );
}

/** Candidate ids for a moment, in the order to try them. */
export function* candidateIds(date: Date): Generator<string> {
  const base = baseIdFor(date);
  yield base;
  for (let i = 1; i < 100; i++) yield `${base}_${String(i).padStart(2, "0")}`;
}

/** The UTC time an id names (the suffix is ignored). */
export function dateOfId(id: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})/.exec(id);
  if (!m) throw new Error(`not a snapshot id: ${id}`);
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  return new Date(Date.UTC(y, mo - 1, d, h, mi, s));
}
