import * as zlib from 'node:zlib';

/** Codex compresses at level 3 (spec §3.3). */
const LEVEL = 3;

type ZstdSync = (data: Uint8Array, options: { params: Record<number, number> }) => Buffer;

interface WasmZstd {
  init(): Promise<void>;
  compress(data: Uint8Array, level: number): Uint8Array;
}

let wasm: Promise<WasmZstd> | undefined;

/**
 * Compresses a request body as one zstd frame at level 3.
 *
 * Node ≥ 22.15 has zstd in `node:zlib`; Node 20 does not, so there we use `@bokuweb/zstd-wasm`,
 * whose WebAssembly build of the reference library ships inside the npm package (no native build,
 * no download at install time).
 */
export async function zstdCompress(data: Uint8Array): Promise<Uint8Array> {
  const native = (zlib as unknown as { zstdCompressSync?: ZstdSync; constants: Record<string, number> });
  const levelParam = native.constants['ZSTD_c_compressionLevel'];
  if (native.zstdCompressSync && levelParam !== undefined) {
    return native.zstdCompressSync(data, { params: { [levelParam]: LEVEL } });
  }
  wasm ??= import('@bokuweb/zstd-wasm').then(async (mod) => {
    const m = mod as unknown as WasmZstd;
    await m.init();
    return m;
  });
  const codec = await wasm;
  return codec.compress(data, LEVEL);
}
