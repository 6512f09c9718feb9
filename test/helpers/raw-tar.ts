import { gunzipSync } from "node:zlib";

/**
 * A tar writer that writes exactly what it is told, typeflags, modes, pax and GNU records included,
 * for tests that feed archives no honest tar writer would produce. Nothing here validates anything.
 */
export interface RawEntry {
  name: string;
  /** One byte: "0" file, "1" hard link, "2" symlink, "3" char device, "5" directory, "Z" unknown, "\0" old file… */
  typeflag: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  body?: Buffer;
  /** Size written into the header; defaults to the body's length. */
  size?: number;
  /** A pax extended header ('x') written before the entry. */
  pax?: Record<string, string>;
  /** A GNU long name ('L') and long link name ('K') written before the entry. */
  gnuLongName?: string;
  gnuLongLink?: string;
}

const BLOCK = 512;

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, "0").slice(-(width - 1)) + "\0";
}

function pad(body: Buffer): Buffer {
  const rest = body.length % BLOCK;
  return rest === 0 ? body : Buffer.concat([body, Buffer.alloc(BLOCK - rest)]);
}

/** One 512-byte ustar header with a correct checksum. */
export function rawHeader(e: Omit<RawEntry, "body" | "pax" | "gnuLongName" | "gnuLongLink"> & { size: number }): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(e.name.slice(0, 100), 0, "utf8");
  h.write(octal((e.mode ?? 0o644) >>> 0, 8), 100, "ascii");
  h.write(octal(e.uid ?? 0, 8), 108, "ascii");
  h.write(octal(e.gid ?? 0, 8), 116, "ascii");
  h.write(octal(e.size, 12), 124, "ascii");
  h.write(octal(e.mtime ?? 1_700_000_000, 12), 136, "ascii");
  h.write(e.typeflag.slice(0, 1), 156, "latin1");
  if (e.linkname) h.write(e.linkname.slice(0, 100), 157, "utf8");
  h.write("ustar\u000000", 257, "latin1");
  h.write(octal(e.devmajor ?? 0, 8), 329, "ascii");
  h.write(octal(e.devminor ?? 0, 8), 337, "ascii");
  h.fill(" ", 148, 156);
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(octal(sum, 7) + " ", 148, "ascii");
  return h;
}

function paxRecords(records: Record<string, string>): Buffer {
  const lines = Object.entries(records).map(([key, value]) => {
    const text = ` ${key}=${value}\n`;
    // The length prefix counts itself.
    let length = Buffer.byteLength(text) + 1;
    while (String(length).length + Buffer.byteLength(text) > length) length++;
    return Buffer.from(`${length}${text}`, "utf8");
  });
  return Buffer.concat(lines);
}

/** The bytes of one entry, with its pax/GNU preambles, padded to whole blocks. */
export function rawEntry(e: RawEntry): Buffer {
  const parts: Buffer[] = [];
  const preamble = (typeflag: string, name: string, body: Buffer) => {
    parts.push(rawHeader({ name, typeflag, size: body.length }), pad(body));
  };
  if (e.gnuLongName !== undefined) preamble("L", "././@LongLink", Buffer.from(`${e.gnuLongName}\0`, "utf8"));
  if (e.gnuLongLink !== undefined) preamble("K", "././@LongLink", Buffer.from(`${e.gnuLongLink}\0`, "utf8"));
  if (e.pax) preamble("x", "PaxHeader/x", paxRecords(e.pax));
  const body = e.body ?? Buffer.alloc(0);
  parts.push(rawHeader({ ...e, size: e.size ?? body.length }), pad(body));
  return Buffer.concat(parts);
}

export function rawTar(entries: RawEntry[]): Buffer {
  return Buffer.concat([...entries.map(rawEntry), Buffer.alloc(2 * BLOCK)]);
}

/**
 * An archive's bytes up to the end of its last entry (the end-of-archive blocks cut off), so that
 * raw entries can be appended to a real archive.
 */
export function withoutEndBlocks(tar: Buffer): Buffer {
  let offset = 0;
  let end = 0;
  while (offset + BLOCK <= tar.length) {
    const header = tar.subarray(offset, offset + BLOCK);
    if (header.every((b) => b === 0)) break;
    const sizeField = header.subarray(124, 136);
    const size = sizeField[0]! & 0x80 ? Number(sizeField.readBigUInt64BE(4)) : parseInt(sizeField.toString("ascii").replace(/\0.*$/, "").trim() || "0", 8);
    offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    end = offset;
  }
  return tar.subarray(0, end);
}

/** A gzip'd archive with raw entries appended before its end. */
export function appendRaw(gzipped: Buffer, entries: RawEntry[]): Buffer {
  return Buffer.concat([withoutEndBlocks(gunzipSync(gzipped)), ...entries.map(rawEntry), Buffer.alloc(2 * BLOCK)]);
}
