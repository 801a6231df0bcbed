// A task whose runs record where they came from: the git commit, branch and whether this file
// had uncommitted changes (see README.md).
export function forecast(city: string, days: number): { city: string; days: number; temps: number[] } {
  const base = city.length * 3;
  return { city, days, temps: Array.from({ length: days }, (_, d) => base + (d % 3)) };
}
