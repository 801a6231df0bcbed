// cashet import <file>
import { importArchive } from "../porcelain/transfer.js";
import { formatBytes, JSON_FLAG, out, outJson, parse, positionals, STORE_FLAGS, STORE_HELP, withStore, type Command } from "./common.js";
import { parseSize } from "../plumbing/validate.js";
import { progress } from "./progress.js";

const HELP = `
  Usage: cashet import <file> [--max-unpacked SIZE]

  Imports an archive written by \`cashet export\` (.tar.gz, .tar.zst, .zip or .tar). The archive
  is treated as untrusted: every object must hash to its id, every commit must decode and name
  only objects in the archive or the store, every ref a commit that is there; entries outside
  the layout, links, special files, duplicates, oversize entries and archives that unpack far
  beyond their size are refused with one line (exit 2). The whole archive is verified before
  anything becomes visible, so a refused import leaves the store exactly as it was and writes
  nothing outside it. Objects already stored are skipped (importing twice changes nothing); refs
  only move forward (a newer local run stays the head; the imported one joins the history).

  Options
    --max-unpacked SIZE   refuse an archive that unpacks to more (default: 100 × its size, at least 1GiB)
    --json                print {"commits","blobs","refs","bytes","skipped"}
${STORE_HELP}
`;

const command: Command = {
  summary: "import an archive written by export, verifying everything it stores",
  async run(argv) {
    const cli = parse(argv, HELP, { ...STORE_FLAGS, ...JSON_FLAG, maxUnpacked: { type: "string" } });
    const [file] = positionals(cli.input, ["file"]);
    const maxUnpacked = parseSize(cli.flags.maxUnpacked, "--max-unpacked");
    const { existsSync } = await import("node:fs");
    if (!existsSync(file!)) {
      const { InvalidInputError } = await import("../plumbing/errors.js");
      throw new InvalidInputError(`${file} does not exist`);
    }
    const { formatOf } = await import("../porcelain/archive.js");
    formatOf(file!); // an unknown extension is refused before the store is touched
    return withStore(cli.flags, true, async (store) => {
      const bar = progress(cli.flags.json);
      let counts;
      try {
        counts = await importArchive(store, file!, {
          ...(maxUnpacked === undefined ? {} : { maxUnpackedBytes: maxUnpacked }),
          onProgress: (done, total) => bar.update("import", done, total),
        });
      } finally {
        bar.stop();
      }
      if (cli.flags.json) await outJson(counts);
      else await out(`imported ${counts.commits} commits, ${counts.blobs} blobs and ${counts.refs} refs (${formatBytes(counts.bytes)}); ${counts.skipped} objects were already stored\n`);
      return 0;
    });
  },
};
export default command;
