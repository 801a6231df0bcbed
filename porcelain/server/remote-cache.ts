// The remote cache over HTTP: the routes that let another machine use this server as its store
// (objects verified on the way in and out, commits only after what they name, refs moved by
// compare-and-swap, a hit in one request) — the server side of HttpStore.
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import type Router from "@koa/router";
import type Koa from "koa";
import { bringInCommit } from "../../plumbing/bring-in.js";
import { inlineBlob, type Commit } from "../../plumbing/commit.js";
import { CashetError, ConflictError, CorruptObjectError, InvalidInputError, MissingObjectError, NotFoundError, UnauthorizedError, type ErrorCode } from "../../plumbing/errors.js";
import { isZstdFrame } from "../../plumbing/compress.js";
import { isId } from "../../plumbing/ids.js";
import { readHitCommit, recordUse, verifiedCommit } from "../../plumbing/hits.js";
import { BlobVerifier, decodeObject, writeVerifiedBlob } from "../../plumbing/objects.js";
import type { Store } from "../../plumbing/store.js";
import { authorizer, challenge, jsonBody, limitedBody, objectId, refName, STATUS } from "./http.js";

/** Registers the remote-cache routes: `/objects/…`, `/hit/fp/…`, `/refs/…`. */
export function remoteCacheRoutes(router: Router, store: Store, hits: HitReader, limits: { bodyLimit: number; objectLimit: number }): void {
  const { bodyLimit, objectLimit } = limits;

  router.head("/objects/:id", async (ctx) => {
    const size = await store.objects.size(objectId(ctx.params.id!));
    if (size === null) throw new NotFoundError(`no object ${ctx.params.id}`);
    ctx.status = 200;
    ctx.length = size;
  });

  router.get("/objects/:id", async (ctx) => {
    const id = objectId(ctx.params.id!);
    const size = store.objects.stream ? await store.objects.size(id) : null;
    const streamed = size !== null && size > STREAM_OVER ? await store.objects.stream!(id) : null;
    if (streamed) {
      // A large blob leaves a piece at a time, verified as it goes (flat memory); the last piece is
      // held back until the whole has verified, and a mismatch cuts the connection instead.
      const { first, rest } = await peek(streamed.chunks, 4);
      if (isZstdFrame(first)) {
        const body = Readable.from(verifiedPieces(id, first, rest));
        body.once("error", () => ctx.res.destroy()); // Koa reports the error; the reader must see the cut
        ctx.type = "application/octet-stream";
        ctx.set("x-cashet-kind", "blob");
        ctx.length = streamed.size;
        ctx.body = body;
        return;
      }
      for await (const _ of rest) void _;
    }
    const stored = await store.objects.read(id);
    const read = stored && decodeObject(id, stored);
    // Verified before it leaves: a damaged object is not served (and fsck will report it).
    if (!read || read.kind === "missing" || read.kind === "corrupt") throw new NotFoundError(`no sound object ${id}`);
    if (read.kind === "commit") await hits.used(id); // remote use counts for the server's LRU gc
    ctx.type = "application/octet-stream";
    ctx.set("x-cashet-kind", read.kind);
    ctx.body = Buffer.from(stored!);
  });

  router.put("/objects/:id", async (ctx) => {
    const id = objectId(ctx.params.id!);
    const { first, rest } = await peek(limitedBody(ctx, objectLimit), 4);
    if (isZstdFrame(first) && (await store.objects.size(id)) === null) {
      // A new blob streams into place, verified on the way: any size in flat memory.
      let created: boolean;
      try {
        ({ created } = await writeVerifiedBlob(store.objects, id, prepend(first, rest)));
      } catch (err) {
        if (err instanceof InvalidInputError) throw new InvalidInputError(`the uploaded bytes are not object ${id}: ${err.message}`);
        throw err;
      }
      ctx.status = created ? 201 : 200;
      ctx.body = { id, created };
      return;
    }
    const bytes = Buffer.concat([first, ...(await collectAll(rest))]);
    const read = decodeObject(id, bytes);
    if (read.kind === "corrupt" || read.kind === "missing") throw new InvalidInputError(`the uploaded bytes are not object ${id}: ${read.kind === "corrupt" ? read.reason : "empty"}`);
    // `?ref=fp/<fingerprint>`: a finished run published in one request — the commit, then the
    // call's ref moved to it (the ref a completed run of that very call may have).
    const run = ctx.query.ref === undefined ? null : refName(String(ctx.query.ref));
    if (run && (read.kind !== "commit" || !run.startsWith("fp/") || read.commit.fingerprint !== run.slice(3) || read.commit.status !== "completed")) {
      throw new InvalidInputError(`?ref=${run} names no completed run of this call`);
    }
    if (read.kind === "commit") {
      // A commit lands only with everything it names, then is indexed, then its run's ref moves
      // (plumbing/bring-in.ts); a damaged stored copy is replaced by these verified bytes.
      const brought = await bringInCommit(store, id, bytes, run ? { ref: { name: run } } : {});
      if (!brought.brought) throw new MissingObjectError(`commit ${id.slice(0, 12)} needs object ${brought.missing.slice(0, 12)}: upload it first`);
      ctx.status = brought.created ? 201 : 200;
      ctx.body = { id, created: brought.created };
      return;
    }
    const existing = await store.objects.read(id);
    if (existing) {
      const same = Buffer.from(existing).equals(bytes);
      const sound = same || decodeObject(id, existing).kind === read.kind;
      if (sound) {
        // Write-once: the same bytes again are fine, different bytes under a stored id are refused.
        if (!same) throw new ConflictError(`object ${id.slice(0, 12)} is already stored with other bytes`);
        ctx.status = 200;
        ctx.body = { id, created: false };
        return;
      }
      // The stored copy no longer verifies (a damaged disk): verified bytes replace it.
      await store.objects.delete(id);
    }
    const created = await store.objects.write(id, bytes);
    ctx.status = created ? 201 : 200;
    ctx.body = { id, created };
  });

  // A remote cache hit in one round trip: the ref's commit and, unless it rides inline, its output
  // blob, as stored (the client verifies both). The commit's length is in a header; the blob follows.
  router.get("/hit/fp/:fingerprint", async (ctx) => {
    const hit = await hits.hit(ctx.params.fingerprint!);
    if (!hit) throw new NotFoundError(`no completed run at fp/${ctx.params.fingerprint}`);
    ctx.set(hitHeaders(hit));
    // Two writes rather than one copy of the blob into a new buffer.
    ctx.body = hit.blob ? Readable.from([Buffer.from(hit.commit), Buffer.from(hit.blob.buffer, hit.blob.byteOffset, hit.blob.byteLength)], { objectMode: false }) : Buffer.from(hit.commit);
    ctx.length = hit.commit.length + (hit.blob?.length ?? 0);
  });

  router.post("/objects/have", async (ctx) => {
    const body = await jsonBody(ctx, bodyLimit);
    const ids = body.ids;
    if (!Array.isArray(ids) || ids.length > 10_000 || !ids.every((x) => typeof x === "string" && isId(x))) throw new InvalidInputError(`"ids" must be a list of at most 10000 object ids`);
    const have: string[] = [];
    for (const id of ids as string[]) if ((await store.objects.size(id)) !== null) have.push(id);
    ctx.body = { have };
  });

  router.get("/refs/:kind/:name", async (ctx) => {
    const name = refName(`${ctx.params.kind}/${ctx.params.name}`);
    const id = await store.refs.read(name);
    if (!id) throw new NotFoundError(`no ref ${name}`);
    ctx.body = { name, id };
  });

  router.put("/refs/:kind/:name", async (ctx) => {
    const name = refName(`${ctx.params.kind}/${ctx.params.name}`);
    const body = await jsonBody(ctx, bodyLimit);
    const id = body.id;
    if (typeof id !== "string" || !isId(id)) throw new InvalidInputError(`"id" must be a commit id`);
    const commit = await hits.commitById(id);
    if (!commit) throw new MissingObjectError(`commit ${id.slice(0, 12)} is not stored here: upload it first`);
    if (name.startsWith("fp/") && commit.fingerprint !== name.slice(3)) throw new InvalidInputError(`commit ${id.slice(0, 12)} is a run of another call than ${name}`);
    const expected = body.expected === undefined ? undefined : body.expected === null ? null : String(body.expected);
    if (expected && !isId(expected)) throw new InvalidInputError(`"expected" must be a commit id or null`);
    const updated = await store.refs.update(name, id, expected);
    if (!updated) throw new ConflictError(`ref ${name} moved meanwhile`);
    ctx.body = { name, id };
  });
}

/** A verified run at a call's ref, as `/hit` sends it. */
export interface Hit {
  id: string;
  commit: Uint8Array;
  /** The output blob's stored bytes, or null when inline or left out. */
  blob: Uint8Array | null;
  /** The output was too large to ride along. */
  omitted: boolean;
}

/**
 * Reads hits for `/hit`, and records the remote uses of commits, through plumbing/hits.ts: the
 * same checks as a local hit, and the same memory of verified commits and of uses recorded.
 */
export class HitReader {
  constructor(private readonly store: Store) {}

  /** Commit `id`, verified, or null. */
  commitById(id: string): Promise<Commit | null> {
    return verifiedCommit(this.store.objects, id);
  }

  used(id: string): Promise<void> {
    return recordUse(this.store.objects, id);
  }

  /** The completed, unexpired run at `fp/<fingerprint>`, or null. Its output is sent as stored: the client verifies it. */
  async hit(fingerprint: string): Promise<Hit | null> {
    const found = await readHitCommit(this.store, refName(`fp/${fingerprint}`));
    if (!found) return null;
    const output = found.commit.output!.hash;
    const size = inlineBlob(found.commit, output) ? null : await this.store.objects.size(output);
    // A large output is left out (the client fetches it with GET /objects, streamed): one round trip
    // must not mean one buffer of any size.
    const blob = size !== null && size <= STREAM_OVER ? await this.store.objects.read(output) : null;
    await this.used(found.id);
    return { id: found.id, commit: found.stored, blob, omitted: size !== null && !blob };
  }
}

/** The headers of a `/hit` answer. */
function hitHeaders(hit: Hit): Record<string, string> {
  return {
    "content-type": "application/octet-stream",
    "content-length": String(hit.commit.length + (hit.blob?.length ?? 0)),
    "x-cashet-commit": hit.id,
    "x-cashet-commit-length": String(hit.commit.length),
    ...(hit.omitted ? { "x-cashet-blob": "omitted" } : {}),
  };
}

/** Objects larger than this are streamed rather than read whole (GET /objects, the blob of /hit). */
const STREAM_OVER = 8 * 1024 * 1024;

/** At least `n` leading bytes of `chunks` (fewer only when there are no more), and an iterator over the rest. */
async function peek(chunks: AsyncIterable<Uint8Array>, n: number): Promise<{ first: Buffer; rest: AsyncIterable<Buffer> }> {
  const it = chunks[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let size = 0;
  while (size < n) {
    const next = await it.next();
    if (next.done) break;
    head.push(Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength));
    size += next.value.length;
  }
  const rest = {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const next = await it.next();
        if (next.done) return;
        yield Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
      }
    },
  };
  return { first: Buffer.concat(head), rest };
}

async function* prepend(first: Buffer, rest: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  yield first;
  yield* rest;
}

async function collectAll(chunks: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const all: Buffer[] = [];
  for await (const chunk of chunks) all.push(chunk);
  return all;
}

/**
 * A stored blob's pieces, verified as they pass. The last piece is held until the whole has
 * verified: a reader never receives every byte of a damaged object.
 */
async function* verifiedPieces(id: string, first: Buffer, rest: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  const verifier = new BlobVerifier(id);
  let held: Buffer | null = null;
  try {
    for await (const chunk of prepend(first, rest)) {
      await verifier.write(chunk);
      if (held) yield held;
      held = chunk;
    }
    await verifier.end();
  } catch (err) {
    verifier.destroy();
    throw new CorruptObjectError(id, (err as Error).message);
  }
  if (held) yield held;
}

/** `GET /hit/fp/<fingerprint>` without Koa: what the route answers, errors as JSON alike. */
export async function answerHit(req: IncomingMessage, res: ServerResponse, fingerprint: string, hits: HitReader, check: ReturnType<typeof authorizer>, app: Koa): Promise<void> {
  const fail = (status: number, code: ErrorCode, message: string, headers: Record<string, string> = {}): void => {
    const body = JSON.stringify({ error: { code, message } });
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": String(Buffer.byteLength(body)), ...headers });
    res.end(body);
  };
  const refused = check?.(req.headers.authorization ?? "", "GET", "/hit");
  if (refused) return fail(STATUS[refused.code]!, refused.code, refused.message, refused instanceof UnauthorizedError ? { "www-authenticate": challenge("/hit") } : {});
  let hit: Hit | null;
  try {
    hit = await hits.hit(fingerprint);
  } catch (err) {
    const status = err instanceof CashetError ? STATUS[err.code] : undefined;
    if (status && status < 500) return fail(status, (err as CashetError).code, (err as Error).message);
    app.emit("error", err);
    return fail(500, "EINTERNAL", "internal error");
  }
  if (!hit) return fail(404, "ENOTFOUND", `no completed run at fp/${fingerprint.slice(0, 80)}`);
  res.writeHead(200, hitHeaders(hit));
  if (hit.blob) res.write(hit.commit);
  res.end(hit.blob ?? hit.commit);
}

