// The web view of `cashet serve` on an ephemeral port, over real runs: the pages over HTTP (filters,
// error pages, escaping of store text, stats, diffs) and, in headless Chromium, the click from the
// log to a commit's source.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { FsStore } from "../../../plumbing/backends/fs/store.js";
import { fileTask } from "../../../porcelain/task.js";
import { run, TaskError } from "../../../porcelain/run.js";
import { serve, type Listening } from "../../../porcelain/server/serve.js";
import { tempDir } from "../../helpers/fixtures.js";

// Store text is any text: the source carries markup that must reach the page as text.
const tasks = (factor: number): string => `export function score(n) {
  const label = "<script>alert(1)</script>";
  return { n, label, total: n * ${factor} }; // web-view-marker
}
export function boom(why) { throw new RangeError("refused: " + why); }
`;

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

describe("cashet serve: the web view", () => {
  const t = tempDir("cashet-web-");
  const store = new FsStore(join(t.dir, "store"));
  let server: Listening;
  let first: string; // score(4), version 1
  let again: string; // score(4), version 1, forced: the same call's second run
  let failed: string; // boom("no")
  let changed: string; // score(4), version 2: another line in the source
  const task = (version: number, name: string, args: unknown[]) => fileTask({ file: join(t.dir, `v${version}`, "tasks.mjs"), exportName: name, args });

  before(async () => {
    // Two files, not one file rewritten: a module imported once in a process is not imported again.
    for (const v of [1, 2]) {
      mkdirSync(join(t.dir, `v${v}`));
      writeFileSync(join(t.dir, `v${v}`, "tasks.mjs"), tasks(v + 1));
    }
    first = (await run(store, await task(1, "score", [4]), { tags: { note: "<b>bold</b>", team: "ml" } })).commit.id;
    again = (await run(store, await task(1, "score", [4]), { force: true })).commit.id;
    await assert.rejects(run(store, await task(1, "boom", ["no"])), (err) => {
      failed = (err as TaskError).commit;
      return err instanceof TaskError;
    });
    changed = (await run(store, await task(2, "score", [4]))).commit.id;
    server = await serve({ store, tasks: async () => null, port: 0 });
  });
  after(async () => {
    await server?.close();
    await store.stopDaemon();
    await store.close();
    t.remove();
  });

  const get = async (path: string) => {
    const res = await fetch(server.url + path);
    return { status: res.status, text: await res.text(), headers: res.headers };
  };
  const commitLink = (id: string): string => `href="/ui/commit/${id}"`;

  test("/ lists every run newest first, as HTML with a strict CSP and nosniff", async () => {
    const r = await get("/");
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(r.headers.get("content-security-policy"), "default-src 'none'; style-src 'unsafe-inline'");
    assert.equal(r.headers.get("x-content-type-options"), "nosniff");
    const at = [changed, failed, again, first].map((id) => r.text.indexOf(commitLink(id)));
    assert.ok(at.every((i) => i > 0), "every run is listed");
    assert.deepEqual([...at].sort((x, y) => x - y), at, "newest first");
    assert.match(r.text, /<form method="get" action="\/">/);
    assert.match(r.text, /href="\/ui\/stats"/);
  });

  test("/ filters by function, status, tag and limit; a blank form lists everything", async () => {
    const boom = await get("/?func=boom");
    assert.ok(boom.text.includes(commitLink(failed)));
    assert.ok(!boom.text.includes(commitLink(first)));
    const onlyFailed = await get("/?status=failed");
    assert.ok(onlyFailed.text.includes(commitLink(failed)));
    assert.ok(![first, again, changed].some((id) => onlyFailed.text.includes(commitLink(id))));
    const tagged = await get("/?tag=team%3Dml");
    assert.deepEqual([first, again, failed, changed].filter((id) => tagged.text.includes(commitLink(id))), [first]);
    // Several tags all filter, and the form shows each of them (plus a blank one to add another).
    const both = await get("/?tag=team%3Dml&tag=note");
    assert.deepEqual([first, again, failed, changed].filter((id) => both.text.includes(commitLink(id))), [first]);
    assert.deepEqual([...both.text.matchAll(/<input name="tag" value="([^"]*)"/g)].map((m) => m[1]), ["team=ml", "note", ""]);
    const limited = await get("/?limit=1");
    assert.deepEqual([first, again, failed, changed].filter((id) => limited.text.includes(commitLink(id))), [changed]);
    const blank = await get("/?func=&tag=&status=&limit=");
    assert.equal(blank.status, 200);
    assert.ok([first, again, failed, changed].every((id) => blank.text.includes(commitLink(id))));
  });

  test("bad filters and unknown commits are HTML error pages with one line and no stack: 400, 404", async () => {
    const cases: Array<[string, number, RegExp]> = [
      ["/?limit=lots", 400, /limit must be a positive whole number/],
      ["/?limit=0", 400, /limit must be a positive whole number/],
      ["/?status=weird", 400, /status must be completed or failed/],
      ["/ui/commit/zz", 400, /./],
      [`/ui/commit/${"0".repeat(12)}`, 404, /no commit matches/],
      [`/ui/diff/${first}/${"0".repeat(64)}`, 404, /./],
    ];
    for (const [path, status, message] of cases) {
      const r = await get(path);
      assert.equal(r.status, status, `${path}: ${r.text}`);
      assert.equal(r.headers.get("content-type"), "text/html; charset=utf-8", path);
      assert.equal(r.headers.get("content-security-policy"), "default-src 'none'; style-src 'unsafe-inline'", path);
      assert.match(r.text, message, path);
      assert.doesNotMatch(r.text, /\bat .*\.js:\d+/, `${path}: no stack trace`);
    }
  });

  test("a commit page shows the source, arguments, output, provenance, tags and history — store text escaped", async () => {
    const r = await get(`/ui/commit/${again.slice(0, 12)}`);
    assert.equal(r.status, 200);
    assert.ok(r.text.includes("return { n, label, total: n * 2 }; // web-view-marker"));
    assert.ok(r.text.includes("&#60;script&#62;alert(1)&#60;/script&#62;"), "the source's markup is escaped");
    assert.ok(!r.text.includes("<script"), "no markup from the store survives");
    assert.ok(r.text.includes("[4]"), "the arguments");
    assert.match(r.text, /serialized with <code>v8<\/code>/);
    assert.ok(r.text.includes(`<dt>node</dt><dd>${process.version}</dd>`), "provenance");
    assert.ok(r.text.includes(commitLink(first)), "history lists the earlier run of the same call");
    assert.ok(r.text.includes(`href="/ui/diff/${first}/${again}"`), "and links a diff between consecutive runs");

    const tagged = await get(`/ui/commit/${first}`);
    assert.ok(tagged.text.includes("note=&#60;b&#62;bold&#60;/b&#62;"), "a tag value is escaped");
    assert.ok(!(await get("/")).text.includes("<b>bold"), "in the log too");

    const boom = await get(`/ui/commit/${failed}`);
    assert.match(boom.text, /RangeError: refused: no/);
  });

  test("the diff page shows what changed and the source diff with the changed lines marked", async () => {
    const r = await get(`/ui/diff/${first.slice(0, 8)}/${changed.slice(0, 8)}`);
    assert.equal(r.status, 200);
    assert.ok(r.text.includes('<span class="del">-  return { n, label, total: n * 2 }; // web-view-marker</span>'));
    assert.ok(r.text.includes('<span class="add">+  return { n, label, total: n * 3 }; // web-view-marker</span>'));
    const same = await get(`/ui/diff/${first}/${again}`);
    assert.match(same.text, /The function did not change\./);
  });

  test("the stats page shows the store's counts", async () => {
    const r = await get("/ui/stats");
    assert.equal(r.status, 200);
    assert.ok(r.text.includes("4 (3 completed, 1 failed)"), r.text);
    assert.match(r.text, /<th>calls<\/th><td>(none counted yet|\d+ hits, \d+ misses, [\d.]+ s saved)/);
  });

  test("in headless Chromium: the log page renders, a commit link leads to the function's source", async (tc) => {
    if (!existsSync(CHROMIUM)) {
      const why = `Chromium is not installed at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`;
      if (process.env.CASHET_REQUIRE_BROWSER === "1") assert.fail(why);
      console.warn(`\n*** SKIPPED the browser test of the web view. ${why} ***\n`);
      tc.skip(why);
      return;
    }
    const { chromium } = await import("playwright-core");
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
      page.on("pageerror", (e) => problems.push(e.message));
      page.on("dialog", (d) => {
        problems.push(`a dialog opened: ${d.message()}`);
        void d.dismiss();
      });
      await page.goto(`${server.url}/`);
      assert.equal(await page.title(), "cashet — log");
      assert.ok(await page.locator("h1").isVisible());
      // The inline style applied: the CSP allows it.
      assert.equal(await page.evaluate("getComputedStyle(document.body).maxWidth"), `${70 * 14}px`);

      await Promise.all([page.waitForURL(`**/ui/commit/${changed}`), page.click(`a[${commitLink(changed)}]`)]);
      assert.equal(await page.title(), `cashet — commit ${changed.slice(0, 12)}`);
      const source = await page.locator("pre").first().textContent();
      assert.ok(source?.includes("return { n, label, total: n * 3 }; // web-view-marker"), String(source));
      assert.ok(source?.includes('const label = "<script>alert(1)</script>";'), "markup in the source is shown as text");
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
  });
});
