// cashet push [--remote URL] [--func NAME] [--tag k=v]… [--since DURATION] [--json]
import { InvalidInputError } from "../plumbing/errors.js";
import { HttpStore } from "../plumbing/backends/http/store.js";
import { openStore, remoteCache } from "../plumbing/backends/open.js";
import { push } from "../porcelain/push.js";
import { EXIT, formatBytes, JSON_FLAG, out, outJson, parse, positionals, RUN_FILTER_FLAGS, runFilters, STORE_FLAGS, STORE_HELP, type Command } from "./common.js";
import { progress } from "./progress.js";

const HELP = `
  Usage: cashet push [--remote URL] [--func NAME] [--tag k=v|k]… [--since DURATION]

  Uploads the completed runs this store holds to a cashet serve server (the remote cache), so a
  server set up after the fact starts with them; runs made later with --remote / $CASHET_REMOTE
  upload themselves. Sends only what the server lacks; a call's ref is set on the server only
  where it has none. Needs a read-write token ($CASHET_REMOTE_TOKEN).

  Options
    --func NAME        only runs of this function
    --tag k=v | k      only runs with this tag (repeatable; all must match)
    --since DURATION   only runs created within this long (7d, 12h, 90m)
    --json             print {"commits","blobs","refs","bytes","skipped"}
${STORE_HELP}
`;

const command: Command = {
  summary: "upload this store's runs to a cashet serve server",
  async run(argv) {
    const cli = parse(argv, HELP, {
      ...STORE_FLAGS,
      ...JSON_FLAG,
      ...RUN_FILTER_FLAGS,
    });
    positionals(cli.input, []);
    const target = remoteCache(cli.flags.remote);
    if (!target) throw new InvalidInputError("push needs a server: --remote URL or $CASHET_REMOTE");
    const remote = new HttpStore(target.url, target.token ? { token: target.token } : {});
    const store = await openStore({ dir: cli.flags.store, redis: cli.flags.redis, remote: false });
    try {
      const bar = progress(cli.flags.json);
      let counts;
      try {
        counts = await push(store, remote, {
          ...runFilters(cli.flags),
          onProgress: (done, total) => bar.update("push", done, total),
        });
      } finally {
        bar.stop();
      }
      if (cli.flags.json) await outJson(counts);
      else await out(`pushed ${counts.commits} run${counts.commits === 1 ? "" : "s"}, ${counts.blobs} blob${counts.blobs === 1 ? "" : "s"} (${formatBytes(counts.bytes)}), ${counts.refs} ref${counts.refs === 1 ? "" : "s"}; ${counts.skipped} object${counts.skipped === 1 ? "" : "s"} already there\n`);
      return EXIT.ok;
    } finally {
      await remote.close();
      await store.close();
    }
  },
};
export default command;
