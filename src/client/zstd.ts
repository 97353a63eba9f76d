import { constants, zstdCompressSync } from 'node:zlib';

/** Codex compresses at level 3 (spec §3.3). */
const LEVEL = 3;

const options = { params: { [constants.ZSTD_c_compressionLevel]: LEVEL } };

/** Compresses a request body as one zstd frame at level 3, with `node:zlib` (Node ≥ 22.15). */
export function zstdCompress(data: Uint8Array): Uint8Array {
  return zstdCompressSync(data, options);
}
