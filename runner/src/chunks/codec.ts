import { promisify } from "node:util";
import zlib from "node:zlib";

/**
 * How a chunk's bytes are stored. zstd where the runtime has it (Node ≥ 22.15): on chat JSON it
 * measured 2.5× gzip -1's speed and 20 % fewer bytes, and unpacks 1.8× faster; gzip otherwise; and
 * as they are when compressing does not pay (models, media, random vectors).
 */
export type Codec = "raw" | "gzip" | "zstd";

/** zlib's output buffer: its 16 KiB default means 64 callbacks and copies per 1 MiB chunk. */
const OUTPUT_CHUNK = 256 * 1024;

const hasZstd = typeof (zlib as { zstdCompress?: unknown }).zstdCompress === "function";
const gzipAsync = promisify(zlib.gzip);
const gunzipAsync = promisify(zlib.gunzip);
const deflateRawAsync = promisify(zlib.deflateRaw);
const zstdAsync = hasZstd ? promisify(zlib.zstdCompress) : undefined;
const unzstdAsync = hasZstd ? promisify(zlib.zstdDecompress) : undefined;

/** The codec new chunks get: zstd when this Node has it. */
export function preferredCodec(): Exclude<Codec, "raw"> {
  return hasZstd ? "zstd" : "gzip";
}

/** The level a codec runs at when none is given: zstd's own default, gzip's fastest (chat text is a small share). */
export function defaultLevel(codec: Exclude<Codec, "raw">): number {
  return codec === "zstd" ? 3 : 1;
}

/** Bytes of a chunk test-compressed to decide whether compressing all of it is worth the CPU. */
const SAMPLE_BYTES = 32 * 1024;
/** Compressing must save at least this share, or the chunk is stored as it is. */
const WORTH_IT = 0.9;

/**
 * zlib's output buffer for an input of `bytes`: one buffer the size of the input and a little more.
 * Its default (16 KiB) costs a callback and a copy per 16 KiB; a fixed 256 KiB one is mostly garbage
 * for a 64 KiB chunk (measured: 1 MiB random chunks compressed 4× faster with it sized to fit, and
 * the main thread did a quarter of the work).
 */
function outputSize(bytes: number): number {
  return bytes + 4096;
}

/** `plain` compressed with `codec`, on libuv's thread pool. */
export async function encode(plain: Buffer, codec: Exclude<Codec, "raw">, level: number): Promise<Buffer> {
  if (codec === "zstd") {
    if (!zstdAsync) throw new Error("this Node.js has no zstd (22.15 or newer has it)");
    return zstdAsync(plain, { chunkSize: outputSize(plain.length), params: { [zlib.constants.ZSTD_c_compressionLevel]: level } });
  }
  return gzipAsync(plain, { level, chunkSize: outputSize(plain.length) });
}

/**
 * The stored form of `plain`: compressed when that saves 10 % or more, else `plain` itself. For gzip a
 * 32 KiB sample decides first, so incompressible data costs a small deflate, not a whole gzip; zstd
 * passes over incompressible data faster than that sample costs (measured on 64 KiB random chunks:
 * 158 ms for zstd of all of them, 368 ms for the samples), so it just compresses.
 */
export async function compressIfWorthIt(plain: Buffer, codec: Exclude<Codec, "raw">, level: number): Promise<{ codec: Codec; stored: Buffer }> {
  if (level === 0) return { codec: "raw", stored: plain };
  if (codec === "gzip") {
    const sample = plain.subarray(0, SAMPLE_BYTES);
    const test = await deflateRawAsync(sample, { level: 1, chunkSize: outputSize(sample.length) });
    if (test.length > sample.length * WORTH_IT) return { codec: "raw", stored: plain };
  }
  const stored = await encode(plain, codec, level);
  return stored.length < plain.length * WORTH_IT ? { codec, stored } : { codec: "raw", stored: plain };
}

/**
 * The plain bytes of a stored chunk; throws a one-line reason when they cannot be had. `plainSize`,
 * when known, sizes the output buffer to fit.
 */
export async function decode(stored: Buffer, codec: Codec, plainSize?: number): Promise<Buffer> {
  if (codec === "raw") return stored;
  const chunkSize = plainSize !== undefined ? outputSize(plainSize) : OUTPUT_CHUNK;
  if (codec === "gzip") return gunzipAsync(stored, { chunkSize });
  if (!unzstdAsync) throw new Error("it is zstd, which this Node.js cannot read (22.15 or newer can)");
  return unzstdAsync(stored, { chunkSize });
}

/** The key suffix of a chunk stored on its own in this codec. */
export function codecSuffix(codec: Codec): string {
  return codec === "gzip" ? ".gz" : codec === "zstd" ? ".zst" : "";
}
