// cashet stats
import { stats, type StoreStats } from "../porcelain/stats.js";
import { formatDuration, formatTime } from "./commit-format.js";
import { parse, positionals, withStore, out, outJson, table, formatBytes, formatCount, STORE_FLAGS, STORE_HELP, JSON_FLAG, type Command } from "./common.js";

const HELP = `
  Usage: cashet stats

  Commits (total, completed, failed), blobs (count, bytes on disk, inline) and where the store is;
  then calls: hits (served from the cache), misses (ran), the hit rate and the run time the hits
  saved, in all and for the 10 functions that saved the most. Calls are counted by every process
  since the store's first count.

  Options
    --json        print {"totalCommits","completedCommits","failedCommits","storedObjects",
                  "diskBytes","blobObjects","blobBytes","inlineObjects","inlineBytes","kind","location",
                  "hits","misses","savedMs","countedSince","functions":[{"name","module","hits","misses","savedMs"}]}
${STORE_HELP}
`;

/** Functions shown in the table, most time saved first. */
const TOP = 10;

const command: Command = {
  summary: "counts of commits and blobs, the store's size, hits, misses and time saved",
  async run(argv) {
    const cli = parse(argv, HELP, { ...STORE_FLAGS, ...JSON_FLAG });
    positionals(cli.input, []);
    return withStore(cli.flags, false, async (store) => {
      const s = await stats(store);
      if (cli.flags.json) {
        await outJson(s);
        return 0;
      }
      await out(
        table([
          ["store", `${s.location} (${s.kind})`],
          ["commits", `${s.totalCommits} (${s.completedCommits} completed, ${s.failedCommits} failed)`],
          ["blobs", `${s.blobObjects} (${formatBytes(s.blobBytes)} on disk)`],
          ["inline blobs", `${s.inlineObjects} (${formatBytes(s.inlineBytes)})`],
          ["total", `${s.storedObjects} objects, ${formatBytes(s.diskBytes)}`],
          ["calls", calls(s)],
        ]) + functionTable(s),
      );
      return 0;
    });
  },
};
export default command;

/** `hits 1,234 · misses 56 · hit rate 95.7% · saved 4h 12m (since …)`. */
function calls(s: Pick<StoreStats, "hits" | "misses" | "savedMs" | "countedSince">): string {
  const counts = `hits ${formatCount(s.hits)} · misses ${formatCount(s.misses)}`;
  if (s.countedSince === null) return `${counts} · none counted yet`;
  return `${counts} · hit rate ${hitRate(s.hits, s.misses)} · saved ${formatDuration(s.savedMs)} (since ${formatTime(s.countedSince)})`;
}

function hitRate(hits: number, misses: number): string {
  return hits + misses === 0 ? "-" : `${((100 * hits) / (hits + misses)).toFixed(1)}%`;
}

/** The top functions by time saved, after a blank line; nothing when none was counted. */
function functionTable(s: StoreStats): string {
  if (!s.functions.length) return "";
  const rows = s.functions
    .slice(0, TOP)
    .map((f) => [f.name, f.module, formatCount(f.hits), formatCount(f.misses), hitRate(f.hits, f.misses), formatDuration(f.savedMs)]);
  const more = s.functions.length > TOP ? `(${s.functions.length - TOP} more: --json lists every function)\n` : "";
  return `\n${table([["FUNCTION", "MODULE", "HITS", "MISSES", "HIT RATE", "SAVED"], ...rows]).replace(/ +$/gm, "")}${more}`;
}
