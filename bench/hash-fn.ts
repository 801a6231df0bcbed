// Function-hash benchmark: a generated 1,000-line TypeScript module, hashed cold (first parse in
// a fresh process, parser load included and reported apart) and warm (module analysis cached).
// `npm run build && node dist/bench/hash-fn.js [--json]`.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const json = process.argv.includes("--json");
const child = process.argv[2] === "--child";

/** ~1,000 lines: constants, helpers calling each other, a class, types and interfaces. */
function generateModule(): string {
  const lines: string[] = ['import { readFileSync } from "node:fs";', ""];
  for (let i = 0; i < 40; i++) lines.push(`export const RATE_${i}: number = ${i} * 0.01;`);
  for (let i = 0; i < 40; i++) lines.push(`interface Row${i} { id: number; name: string; value: number }`);
  for (let i = 0; i < 120; i++) {
    lines.push(
      `/** Helper ${i}. */`,
      `export function helper${i}(rows: Row${i % 40}[], scale: number = RATE_${i % 40}): number {`,
      `  let total = 0;`,
      `  for (const row of rows) total += row.value * scale;`,
      `  return ${i > 0 ? `helper${i - 1}(rows.slice(1), scale) + ` : ""}total;`,
      `}`,
    );
  }
  lines.push("export class Model {", "  private weights: number[] = [];");
  for (let i = 0; i < 40; i++) lines.push(`  step${i}(x: number): number { return x * (this.weights[${i}] ?? RATE_${i}); }`);
  lines.push("}");
  while (lines.length < 990) lines.push(`export const pad${lines.length} = (x: number): number => x + ${lines.length};`);
  lines.push("export function train(rows: Row0[]): number {", "  return rows.map((r) => helper119([r])).reduce((a, b) => a + b, 0) + new Model().step3(1);", "}");
  return lines.join("\n") + "\n";
}

async function runChild(file: string): Promise<void> {
  let t = performance.now();
  const { hashExportedFunction } = await import("../plumbing/hash/function.js");
  const loadMs = performance.now() - t;
  t = performance.now();
  const first = hashExportedFunction(file, "train");
  const coldMs = performance.now() - t;
  const warm: number[] = [];
  for (let i = 0; i < 50; i++) {
    t = performance.now();
    hashExportedFunction(file, "train");
    warm.push(performance.now() - t);
  }
  warm.sort((a, b) => a - b);
  process.stdout.write(JSON.stringify({ loadMs, coldMs, warmMs: warm[warm.length >> 1], components: first.components.length }));
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "cashet-bench-fn-"));
  const file = join(dir, "big.ts");
  const source = generateModule();
  writeFileSync(file, source);
  try {
    const runs: Array<{ loadMs: number; coldMs: number; warmMs: number; components: number }> = [];
    for (let i = 0; i < 3; i++) {
      const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--child", file], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(r.stderr);
      runs.push(JSON.parse(r.stdout) as (typeof runs)[number]);
    }
    const med = (k: "loadMs" | "coldMs" | "warmMs"): number => runs.map((r) => r[k]).sort((a, b) => a - b)[1]!;
    const result = { lines: source.split("\n").length, components: runs[0]!.components, parserLoadMs: med("loadMs"), coldMs: med("coldMs"), warmMs: med("warmMs") };
    if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else {
      process.stdout.write(`function hash of a ${result.lines}-line TypeScript module (${result.components} components), median of 3 processes\n`);
      process.stdout.write(`  load hashing modules (oxc-parser)  ${result.parserLoadMs.toFixed(1)} ms\n`);
      process.stdout.write(`  cold (parse + analyse + hash)      ${result.coldMs.toFixed(1)} ms\n`);
      process.stdout.write(`  warm (cached analysis)             ${result.warmMs.toFixed(2)} ms\n`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (child) await runChild(process.argv[3]!);
else await main();
