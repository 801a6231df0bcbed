// How an explanation reads on a terminal (`cashet explain`, `cashet run --explain`): one header
// line — hit or miss, the function, and the run it is compared with — then one line per difference,
// then the unified diff of the function's source when it changed.
import { describeDifference, formatAgo } from "../porcelain/compare.js";
import type { Explanation } from "../porcelain/explain.js";
import { shortId } from "./commit-format.js";

export function renderExplanation(e: Explanation): string {
  const fn = `${e.func.name} (${e.func.module})`;
  if (e.hit) return `hit: ${fn} — ${e.reason}\n`;
  const c = e.commit;
  if (!c || (e.compared !== "newest" && e.compared !== "closest")) {
    // this very call's own run (expired, failed), a forced run, or nothing to compare with: the reason says it all
    const more = e.differences.length > 2 ? e.differences.map((d) => `  ${describeDifference(d)}\n`).join("") : "";
    return `miss: ${fn} — ${e.reason}\n${more}`;
  }
  const n = e.differences.length;
  const ago = `${formatAgo(Date.parse(c.createdAt))} ago`;
  const from =
    e.runs === 1
      ? `its only run ${shortId(c.id)} (${ago})`
      : e.compared === "newest"
        ? `its newest run ${shortId(c.id)} (${ago}; the closest of ${e.runs})`
        : `run ${shortId(c.id)} (${ago}), the closest of its ${e.runs} newest runs`;
  if (n === 0) return `miss: ${fn} — ${e.reason}; compared with ${from}\n`;
  let text = `miss: ${fn} — ${n} difference${n === 1 ? "" : "s"} from ${from}\n`;
  for (const d of e.differences) text += `  ${describeDifference(d)}\n`;
  for (const d of e.differences) if (d.diff) text += `\n${d.diff}`;
  return text;
}
