// The memoized steps of a CI job: each is a `cashet run` in ci.sh. On a warm cache (the store
// restored from the previous job) none of them executes.
import { readFileSync } from "node:fs";

export function lint(path: string): { file: string; longLines: number } {
  const lines = readFileSync(path, "utf8").split("\n");
  return { file: path.split("/").pop()!, longLines: lines.filter((l) => l.length > 100).length };
}

export function fixtures(count: number): number[] {
  // stands for something slow: generating test data, building an index, training a model
  let x = 1;
  return Array.from({ length: count }, () => (x = (x * 48271) % 2147483647));
}

export function report(path: string, count: number): string {
  const words = readFileSync(path, "utf8").split(/\s+/).filter(Boolean).length;
  return `${words} words checked against ${count} fixtures\n`;
}
