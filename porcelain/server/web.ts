// The web view of `cashet serve`: server-rendered HTML over the same porcelain as the JSON routes —
// the log with filters, one commit, a diff of two, the store's counts. No script and no assets.
import type { Router, RouterContext } from "@koa/router";
import type { Commit, Json } from "../../plumbing/commit.js";
import { CashetError } from "../../plumbing/errors.js";
import type { Store } from "../../plumbing/store.js";
import { parseWholeNumber } from "../../plumbing/validate.js";
import { diff } from "../diff.js";
import { history } from "../history.js";
import { log, type LogOptions } from "../log.js";
import { show } from "../show.js";
import { STATUS } from "./http.js";
import { stats } from "../stats.js";

/** Registers the HTML pages: `/`, `/ui/commit/:id`, `/ui/diff/:a/:b`, `/ui/stats`. */
export function webRoutes(router: Router, store: Store): void {
  page(router, "/", async (ctx) => {
    const one = (k: string): string => {
      const v = ctx.query[k];
      return (Array.isArray(v) ? v[0] : v) ?? "";
    };
    const raw = ctx.query.tag;
    // An empty form field means "no filter", so a submitted blank form lists everything.
    const tags = (raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]).filter((t) => t !== "");
    const [func, status, limitText] = [one("func"), one("status"), one("limit")];
    const limit = parseWholeNumber(limitText || undefined, "limit", { min: 1 });
    const query: LogOptions = {
      tags,
      ...(func ? { func } : {}),
      ...(status ? { status: status as LogOptions["status"] } : {}),
      ...(limit !== undefined ? { limit } : {}),
    };
    const commits = await log(store, query);
    const option = (v: string, label: string): Html => html`<option value="${v}" ${status === v ? html`selected` : ""}>${label}</option>`;
    return layout("log", html`
      <form method="get" action="/">
        <label>function <input name="func" value="${func}"></label>
        ${[...tags, ""].map((tag) => html`<label>tag <input name="tag" value="${tag}" placeholder="k=v or k"></label>`)}
        <label>status <select name="status">${option("", "any")}${option("completed", "completed")}${option("failed", "failed")}</select></label>
        <label>limit <input name="limit" value="${limitText}" size="4" placeholder="20"></label>
        <button>filter</button>
      </form>
      ${commits.length === 0 ? html`<p>No runs match.</p>` : html`
      <table>
        <tr><th>commit</th><th>function</th><th>status</th><th>created</th><th>duration</th><th>tags</th><th>output</th></tr>
        ${commits.map((c) => html`<tr>
          <td><a href="/ui/commit/${c.id}"><code>${c.id.slice(0, 12)}</code></a></td><td>${c.func.name}</td>
          <td class="${c.status}">${c.status}</td><td>${time(c.createdAt)}</td><td>${duration(c.durationMs)}</td>
          <td>${tagList(c.tags)}</td><td class="preview">${cut(c.output?.preview ?? (c.error ? `${c.error.name}: ${c.error.message}` : ""), 80)}</td></tr>`)}
      </table>`}`);
  });

  page(router, "/ui/commit/:id", async (ctx) => {
    const c = await show(store, ctx.params.id!);
    const runs = await history(store, c.id);
    return layout(`commit ${c.id.slice(0, 12)}`, html`
      <dl>
        <dt>id</dt><dd><code>${c.id}</code></dd>
        <dt>function</dt><dd><code>${c.func.name}</code> in <code>${c.func.module}</code> (hash <code>${c.func.hash.slice(0, 12)}</code>)</dd>
        <dt>status</dt><dd class="${c.status}">${c.status}</dd>
        <dt>created</dt><dd>${time(c.createdAt)}, ran ${duration(c.durationMs)} in ${c.attempts} attempt${c.attempts === 1 ? "" : "s"}</dd>
        ${c.expiresAt ? html`<dt>expires</dt><dd>${time(c.expiresAt)}</dd>` : ""}
        <dt>tags</dt><dd>${tagList(c.tags)}</dd>
        <dt>parent</dt><dd>${c.parent ? html`<a href="/ui/commit/${c.parent}"><code>${c.parent.slice(0, 12)}</code></a>` : "none"}</dd>
      </dl>
      <h2>Source</h2>
      <pre>${c.func.source}</pre>
      ${c.func.deps.length ? html`<p>Depends on: ${c.func.deps.map((d, i) => html`${i ? ", " : ""}<code>${json(d)}</code>`)}</p>` : ""}
      <h2>Arguments</h2>
      <pre>${c.args.preview}</pre>
      <h2>Output</h2>
      ${c.output
        ? html`<p>${bytes(c.output.size)}, serialized with <code>${c.output.serializer}</code>, blob <code>${c.output.hash.slice(0, 12)}</code></p><pre>${c.output.preview}</pre>`
        : html`<p>none</p>`}
      ${c.error ? html`<h2>Error</h2><p class="failed">${c.error.name}: ${c.error.message}</p><pre>${c.error.stack}</pre>` : ""}
      <h2>Provenance</h2>
      <dl>${flatten(c.provenance).map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>
      <h2>History</h2>
      ${historyTable(runs, c.id)}`);
  });

  page(router, "/ui/diff/:a/:b", async (ctx) => {
    const d = await diff(store, ctx.params.a!, ctx.params.b!);
    const yes = (v: boolean): Html => html`<td class="${v ? "failed" : "completed"}">${v ? "changed" : "same"}</td>`;
    const line = (l: string): Html => html`<span class="${l.startsWith("+++") || l.startsWith("---") ? "hdr" : l[0] === "+" ? "add" : l[0] === "-" ? "del" : l.startsWith("@@") ? "hunk" : ""}">${l}</span>\n`;
    return layout(`diff ${d.a.slice(0, 12)} ${d.b.slice(0, 12)}`, html`
      <p><a href="/ui/commit/${d.a}"><code>${d.a.slice(0, 12)}</code></a> → <a href="/ui/commit/${d.b}"><code>${d.b.slice(0, 12)}</code></a></p>
      <table>
        <tr><th>function</th><th>arguments</th><th>dependencies</th><th>output</th></tr>
        <tr>${yes(d.funcChanged)}${yes(d.argsChanged)}${yes(d.depsChanged)}${yes(d.outputChanged)}</tr>
      </table>
      <h2>Source</h2>
      ${d.sourceDiff === null
        ? html`<p>${d.funcChanged ? "The function's own source is the same; something it depends on changed." : "The function did not change."}</p>`
        : html`<pre class="diff">${d.sourceDiff.replace(/\n$/, "").split("\n").map(line)}</pre>`}`);
  });

  page(router, "/ui/stats", async () => {
    const s = await stats(store);
    const rows: Array<[string, string]> = [
      ["store", `${s.kind} at ${s.location}`],
      ["commits", `${s.totalCommits} (${s.completedCommits} completed, ${s.failedCommits} failed)`],
      ["stored objects", `${s.storedObjects}, ${bytes(s.diskBytes)}`],
      ["blob objects", `${s.blobObjects}, ${bytes(s.blobBytes)}`],
      ["inline blobs", `${s.inlineObjects}, ${bytes(s.inlineBytes)}`],
      ["calls", s.countedSince === null ? "none counted yet" : `${s.hits} hits, ${s.misses} misses, ${(s.savedMs / 1000).toFixed(1)} s saved (since ${s.countedSince})`],
    ];
    return layout("stats", html`<table>${rows.map(([k, v]) => html`<tr><th>${k}</th><td>${v}</td></tr>`)}</table>`);
  });
}

/** HTML text that is already safe; everything else interpolated into `html` is escaped. */
class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** A template whose interpolations are escaped (arrays joined, null/undefined/false empty) unless they are Html. */
function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  const part = (v: unknown): string =>
    v instanceof Html ? v.text : Array.isArray(v) ? v.map(part).join("") : v === null || v === undefined || v === false ? "" : escape(String(v));
  return new Html(strings.reduce((out, s, i) => out + s + (i < values.length ? part(values[i]) : ""), ""));
}

function escape(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:1.5em auto;max-width:70em;padding:0 1em;color:#222}
nav a{margin-right:1em}table{border-collapse:collapse;margin:.5em 0}td,th{border-bottom:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
pre{background:#f6f6f6;padding:.6em;overflow:auto;white-space:pre}.completed{color:#175}.failed{color:#b22}.preview{max-width:24em;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dd{margin:0}form label{margin-right:.8em}
.add{color:#175;background:#e6ffec}.del{color:#b22;background:#ffebe9}.hunk{color:#56a}.hdr{font-weight:bold}.here{font-weight:bold}`;

function layout(title: string, body: Html): Html {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cashet — ${title}</title><style>${new Html(STYLE)}</style></head>
<body><nav><a href="/">log</a><a href="/ui/stats">stats</a></nav><h1>${title}</h1>
${body}
</body></html>
`;
}

/** The errors a request can cause, as statuses; anything else is the server's fault (500). */

/** A GET page: the handler's HTML, or an error page with a fitting status and one line (never a stack). */
function page(router: Router, path: string, render: (ctx: RouterContext) => Promise<Html>): void {
  router.get(path, async (ctx) => {
    let body: Html;
    try {
      body = await render(ctx);
      ctx.status = 200;
    } catch (err) {
      const status = err instanceof CashetError ? (STATUS[err.code] ?? 500) : 500;
      if (status === 500) ctx.app.emit("error", err, ctx);
      ctx.status = status;
      body = layout(status === 404 ? "not found" : status === 400 ? "bad request" : status === 401 || status === 403 ? "not allowed" : "error", html`<p class="failed">${status === 500 ? "internal error" : (err as Error).message}</p>`);
    }
    ctx.type = "text/html; charset=utf-8";
    ctx.set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
    ctx.set("X-Content-Type-Options", "nosniff");
    ctx.body = body.text;
  });
}

function historyTable(runs: Commit[], current: string): Html {
  return html`<table>
    <tr><th>run</th><th>status</th><th>created</th><th>duration</th><th></th></tr>
    ${runs.map((r, i) => html`<tr class="${r.id === current ? "here" : ""}">
      <td><a href="/ui/commit/${r.id}"><code>${r.id.slice(0, 12)}</code></a></td><td class="${r.status}">${r.status}</td>
      <td>${time(r.createdAt)}</td><td>${duration(r.durationMs)}</td>
      <td>${i + 1 < runs.length ? html`<a href="/ui/diff/${runs[i + 1]!.id}/${r.id}">diff</a> with the run before` : ""}</td></tr>`)}
  </table>`;
}

/** Provenance as `key: value` rows, one level of nesting spelled out (`git.branch`). */
function flatten(p: { [key: string]: Json }): Array<[string, string]> {
  return Object.entries(p).flatMap(([k, v]): Array<[string, string]> =>
    v !== null && typeof v === "object" && !Array.isArray(v) ? Object.entries(v).map(([k2, v2]) => [`${k}.${k2}`, scalar(v2)]) : [[k, scalar(v)]],
  );
}

function scalar(v: Json): string {
  return typeof v === "string" ? v : json(v);
}

function json(v: Json): string {
  return JSON.stringify(v);
}

function tagList(tags: Record<string, string>): Html {
  return html`${Object.entries(tags).map(([k, v], i) => html`${i ? ", " : ""}<code>${k}=${v}</code>`)}`;
}

function cut(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

function time(iso: string): string {
  return iso.replace("T", " ").replace(/\.\d+Z$/, "Z");
}

function duration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  for (; n >= 1024 ** (i + 1) && i < units.length - 1; i++);
  return i === 0 ? `${n} B` : `${(n / 1024 ** i).toFixed(1)} ${units[i]}`;
}
