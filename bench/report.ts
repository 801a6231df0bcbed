// The anchor table every anchor-perf workload reports into (bench/run.ts, bench/cli.ts): our
// median, its spread, and the ratio to ../shared/anchor-perf.md's Python cashet and joblib figures.
import { median } from "./median.js";

export type Unit = "µs" | "ms" | "s" | "MB" | "";

export interface Row {
  name: string;
  /** The median of `samples` (or the one figure). */
  ours: number;
  unit: Unit;
  /** anchor-perf.md's figures, in `unit`; null where it has none. */
  python: number | null;
  joblib: number | null;
  /** Whole-process rows: `node -e 0` measured alternately with the row's own runs, in `unit`. */
  node?: number;
  /** Every figure the median is of, when there are several. */
  samples?: number[];
}

/** A row whose figure is the median of `samples`. */
export function medianRow(name: string, samples: number[], unit: Unit, python: number | null, joblib: number | null, node?: number): Row {
  return { name, ours: median(samples), unit, python, joblib, node, samples };
}

function fmt(v: number): string {
  if (Number.isInteger(v) || v >= 100) return v.toFixed(0);
  return v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

function ratio(ours: number, theirs: number | null | undefined): string {
  return theirs === null || theirs === undefined || theirs === 0 ? "" : `${(ours / theirs).toFixed(2)}×`;
}

/** A plain-text table; columns after the first are right-aligned. */
export function table(rows: readonly Row[]): string {
  const withNode = rows.some((r) => r.node !== undefined);
  const head = ["workload", "cashet-ts", "spread", "python", "ratio", "joblib", "ratio", ...(withNode ? ["× node -e 0"] : [])];
  const body = rows.map((r) => {
    const spread = r.samples && r.samples.length > 1 ? `${fmt(Math.min(...r.samples))}–${fmt(Math.max(...r.samples))}` : "";
    const unit = r.unit ? ` ${r.unit}` : "";
    return [
      r.name,
      `${fmt(r.ours)}${unit}`,
      spread,
      r.python === null ? "—" : `${fmt(r.python)}${unit}`,
      ratio(r.ours, r.python),
      r.joblib === null ? "—" : `${fmt(r.joblib)}${unit}`,
      ratio(r.ours, r.joblib),
      ...(withNode ? [ratio(r.ours, r.node)] : []),
    ];
  });
  const widths = head.map((h, c) => Math.max(h.length, ...body.map((row) => row[c]!.length)));
  const line = (cells: string[]): string => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  ").trimEnd();
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}
