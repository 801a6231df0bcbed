// Shared test fixtures: valid commit records and temp store directories.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CommitRecord } from "../../plumbing/commit.js";
import { sha256 } from "../../plumbing/ids.js";

/** A valid completed commit record; override any field. */
export function makeRecord(overrides: Partial<CommitRecord> & { seed?: string; outputId?: string; outputSize?: number } = {}): CommitRecord {
  const { seed = "seed", outputId, outputSize, ...rest } = overrides;
  return {
    fingerprint: sha256(`fp:${seed}`),
    status: "completed",
    func: { name: "train", module: "pipeline.ts", hash: sha256(`fn:${seed}`), source: "function train() {}", deps: [] },
    args: { hash: sha256(`args:${seed}`), preview: "[1]", blob: null },
    output: { hash: outputId ?? sha256(`out:${seed}`), size: outputSize ?? 1, serializer: "v8", preview: "1" },
    error: null,
    parent: null,
    createdAt: new Date().toISOString(),
    durationMs: 5,
    attempts: 1,
    tags: {},
    expiresAt: null,
    provenance: { node: "v20" },
    ...rest,
  };
}

/** A fresh temp directory, and a function that removes it. */
export function tempDir(label = "cashet-test-"): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), label));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** mulberry32: a small seeded generator, so a randomized test can be replayed from its seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
