// Task functions the benchmarks memoize: module exports, so their identity is the same in every
// process that imports this module (the cold-process workload runs them in a child).
export function twice(i: number): number {
  return i * 2;
}

export function loadRows(n: number): number[] {
  return Array.from({ length: n }, (_, i) => (i * 7919) % 1000);
}

export function normalize(rows: number[]): number[] {
  const max = Math.max(...rows);
  return rows.map((r) => r / max);
}

export function summarize(rows: number[]): { n: number; mean: number } {
  return { n: rows.length, mean: rows.reduce((a, b) => a + b, 0) / rows.length };
}

/** A node of the DAG workload: its own number plus its inputs'. */
export function node(id: number, inputs: number[]): number {
  return inputs.reduce((a, b) => a + b, id);
}

/** Incompressible 10 MiB results, one per seed, made before the clock starts (bench/run.ts fills it). */
export const incompressible: Buffer[] = [];

export function tenMiB(seed: number): Buffer {
  return incompressible[seed]!;
}

/** A plain array of `n` doubles (≈ 9.9 MB through the v8 serializer for 1.1 M). */
export function floats(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i * 0.001);
}
