// Refs as files: refs/fp/<fingerprint>, refs/pin/<name>, each holding a commit id. Anyone reads
// them directly (a cache hit needs no daemon); only the index daemon writes them, one update at a
// time per name, so compare-and-swap is atomic across every process using the store.
import * as fs from "node:fs";
import { dirname, join } from "node:path";
import { isId } from "../../ids.js";
import { assertRefName } from "../../refs.js";
import type { Ref } from "../../store.js";
import { isMissing, writeFileAtomic } from "./files.js";
import { refPath, refsDir, tmpDir } from "./layout.js";

/** The commit id a ref holds, or null when absent (or not holding an id). */
export function readRef(dir: string, name: string): string | null {
  assertRefName(name);
  let text: string;
  try {
    text = fs.readFileSync(refPath(dir, name), "utf8").trim();
  } catch (err) {
    if (isMissing(err)) return null;
    throw err;
  }
  return isId(text) ? text : null;
}

/** All refs under `prefix`, sorted by name. */
export function listRefs(dir: string, prefix = ""): Ref[] {
  const out: Ref[] = [];
  for (const kind of ["fp", "pin"]) {
    let names: string[];
    try {
      names = fs.readdirSync(join(refsDir(dir), kind));
    } catch (err) {
      if (isMissing(err)) continue;
      throw err;
    }
    for (const n of names) {
      const name = `${kind}/${n}`;
      if (!name.startsWith(prefix) || n.endsWith(".tmp")) continue;
      try {
        const id = readRef(dir, name);
        if (id) out.push({ name, id });
      } catch {
        // a stray file that is not a valid ref name: fsck reports it
      }
    }
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}

/**
 * Serialized compare-and-swap on ref files; lives in the index daemon (the only writer).
 * Semantics as RefStorage.update.
 */
export class RefWriter {
  private readonly locks = new Map<string, Promise<unknown>>();
  constructor(private readonly dir: string) {}

  update(name: string, next: string | null, expected?: string | null): Promise<boolean> {
    assertRefName(name);
    if (next !== null && !isId(next)) throw new TypeError(`ref target "${next}" is not an id`);
    const prev = this.locks.get(name) ?? Promise.resolve();
    const run = prev.then(() => this.apply(name, next, expected));
    const tail = run.catch(() => undefined);
    this.locks.set(name, tail);
    void tail.then(() => {
      if (this.locks.get(name) === tail) this.locks.delete(name);
    });
    return run;
  }

  private apply(name: string, next: string | null, expected?: string | null): boolean {
    const current = readRef(this.dir, name);
    if (expected !== undefined && current !== expected) return current === next;
    const path = refPath(this.dir, name);
    if (next === null) {
      try {
        fs.unlinkSync(path);
      } catch (err) {
        if (!isMissing(err)) throw err;
      }
      return true;
    }
    writeFileAtomic(path, `${next}\n`, tmpDir(this.dir), dirname(path));
    return true;
  }
}
