// export and import throughput and the size of the archive per format, on one store of
// incompressible and of compressible results. `npm run build && node dist/bench/transfer.js [--json]`.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "../lib/client.js";
import { FsStore } from "../plumbing/backends/fs/store.js";
import { exportArchive, importArchive } from "../porcelain/transfer.js";

const json = process.argv.includes("--json");
const MIB = 1024 * 1024;

/** 8 MiB of random bytes (incompressible) or of numbers as CSV text (compresses ≈ 2–3×, like real results). */
export function payload(seed: number, kind: string): Buffer {
  if (kind === "random") return randomBytes(8 * MIB);
  const rows: string[] = [];
  let size = 0;
  for (let i = 0; size < 8 * MIB; i++) {
    const row = `${seed},${i},${Math.random().toFixed(9)},${(Math.random() * 1000).toFixed(3)}\n`;
    rows.push(row);
    size += row.length;
  }
  return Buffer.from(rows.join("")).subarray(0, 8 * MIB);
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), "cashet-bench-transfer-"));
  const rows: Array<{ data: string; format: string; storeMB: number; archiveMB: number; ratio: number; exportMBs: number; importMBs: number }> = [];
  try {
    for (const kind of ["random", "text"]) {
      const source = new FsStore(join(root, `src-${kind}`));
      const client = new Client({ store: source });
      for (let i = 0; i < 32; i++) await client.submit(payload, i, kind); // 256 MiB of results
      const resultBytes = 32 * 8 * MIB;
      const stored = (await source.index.stats()).blobBytes;
      for (const ext of ["tar.gz", "tar.zst", "zip", "tar"]) {
        const file = join(root, `${kind}.${ext}`);
        let t = performance.now();
        await exportArchive(source, file);
        const exportMs = performance.now() - t;
        const dest = new FsStore(join(root, `dst-${kind}-${ext}`));
        t = performance.now();
        await importArchive(dest, file);
        const importMs = performance.now() - t;
        await dest.stopDaemon();
        await dest.close();
        const archive = statSync(file).size;
        rows.push({
          data: kind,
          format: ext,
          storeMB: stored / 1e6,
          archiveMB: archive / 1e6,
          ratio: resultBytes / archive,
          exportMBs: resultBytes / 1e6 / (exportMs / 1000),
          importMBs: resultBytes / 1e6 / (importMs / 1000),
        });
        rmSync(file);
        rmSync(join(root, `dst-${kind}-${ext}`), { recursive: true, force: true });
      }
      await source.stopDaemon();
      await source.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  if (json) return void process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  process.stdout.write("export / import of 256 MiB of results (32 × 8 MiB), MB/s of results; ratio = results ÷ archive\n\n");
  process.stdout.write(`${"data".padEnd(8)}${"format".padEnd(9)}${"stored".padStart(10)}${"archive".padStart(10)}${"ratio".padStart(8)}${"export".padStart(12)}${"import".padStart(12)}\n`);
  for (const r of rows) {
    process.stdout.write(
      `${r.data.padEnd(8)}${r.format.padEnd(9)}${`${r.storeMB.toFixed(0)} MB`.padStart(10)}${`${r.archiveMB.toFixed(1)} MB`.padStart(10)}${`${r.ratio.toFixed(1)}×`.padStart(8)}${`${r.exportMBs.toFixed(0)} MB/s`.padStart(12)}${`${r.importMBs.toFixed(0)} MB/s`.padStart(12)}\n`,
    );
  }
}

await main();
