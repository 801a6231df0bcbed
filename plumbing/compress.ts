// zstd framing of stored blobs. Level 3 is zstd's default: ≈300 MB/s in, ≈1 GB/s out here.
import { createRequire } from "node:module";
import type { Compressor, CompressStream, DecompressStream, Decompressor } from "zstd-napi";

// Loaded on first use: the native addon takes ≈ 20 ms to load, and a cache hit whose result
// rides inline in its commit (most small results) never decompresses anything.
const require = createRequire(import.meta.url);
let zstd: typeof import("zstd-napi") | undefined;
const lib = (): typeof import("zstd-napi") => (zstd ??= require("zstd-napi") as typeof import("zstd-napi"));

const LEVEL = 3;

// One context each, made once: zstd-napi's compress(data, params) re-applies params per call.
let compressor: Compressor | undefined;
let decompressor: Decompressor | undefined;

/** Compresses `bytes` into one zstd frame. */
export function compress(bytes: Uint8Array): Buffer {
  if (!compressor) {
    compressor = new (lib().Compressor)();
    compressor.setParameters({ compressionLevel: LEVEL });
  }
  return compressor.compress(bytes);
}

/** Decompresses one or more zstd frames. Throws on malformed input. */
export function decompress(bytes: Uint8Array): Buffer {
  decompressor ??= new (lib().Decompressor)();
  return decompressor.decompress(bytes);
}

/** True when `bytes` starts with the zstd frame magic number. */
export function isZstdFrame(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 4 &&
    bytes[0] === 0x28 &&
    bytes[1] === 0xb5 &&
    bytes[2] === 0x2f &&
    bytes[3] === 0xfd
  );
}

/** A Transform stream that compresses into one zstd frame (for blobs too large to hold twice). */
export function createCompressStream(): CompressStream {
  return new (lib().CompressStream)({ compressionLevel: LEVEL });
}

/** A Transform stream that decompresses zstd frames (verifying a large blob as it streams). */
export function createDecompressStream(): DecompressStream {
  return new (lib().DecompressStream)();
}
