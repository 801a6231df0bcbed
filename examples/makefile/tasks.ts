// Steps of a small data pipeline, each a plain exported function: `cashet run` memoizes them.
import { readFileSync } from "node:fs";

interface Row {
  city: string;
  temp: number;
}

/** Parses `city,temp` lines. Receives the path of an `@file` argument. */
export function parse(path: string): Row[] {
  return readFileSync(path, "utf8")
    .trim()
    .split("\n")
    .slice(1)
    .map((line) => {
      const [city, temp] = line.split(",");
      return { city: city!, temp: Number(temp) };
    });
}

/** Mean temperature of one city. */
export function mean(path: string, city: string): number {
  const rows = parse(path).filter((r) => r.city === city);
  return rows.reduce((sum, r) => sum + r.temp, 0) / rows.length;
}
