// The Lua scripts of the RedisStore: each is one atomic step on the server, so several machines
// writing at once cannot interleave inside it (a compare-and-swap, a publish, an index update and
// its counters).
import type { Redis } from "ioredis";

type Arg = string | number | Buffer;

/** ioredis with the scripts below defined (`defineCommand`). */
export interface ScriptedRedis extends Redis {
  cashetHitBuffer(refKey: string, accessedKey: string, objectPrefix: string, now: string): Promise<Array<Buffer | null> | null>;
  cashetFinish(temp: string, dest: string, ids: string, accessed: string, id: string, now: string): Promise<number>;
  cashetRefUpdate(refKey: string, refNames: string, name: string, next: string, hasExpected: string, expected: string): Promise<number>;
  cashetRenew(claimKey: string, value: string, ttlMs: string): Promise<number>;
  cashetRelease(claimKey: string, value: string): Promise<number>;
  cashetPublishRef(claimKey: string, refKey: string, refNames: string, value: string, name: string, next: string, hasExpected: string, expected: string): Promise<number>;
  cashetIndexAdd(...keysAndArgs: Arg[]): Promise<number>;
  cashetIndexRemove(...keysAndArgs: Arg[]): Promise<string[]>;
  cashetBlobAdd(blobs: string, counters: string, object: string, id: string): Promise<number>;
  cashetBlobRemove(blobs: string, counters: string, id: string): Promise<number>;
  cashetTouch(entries: string, lastAccess: string, id: string, at: string): Promise<number>;
}

/** The ref update of cashetRefUpdate, shared with cashetPublishRef. */
const REF_UPDATE = `
local function ref_update(refKey, refNames, name, nextId, hasExpected, expected)
  local cur = redis.call('GET', refKey)
  if cur == false then cur = '' end
  if hasExpected == '1' and cur ~= expected and cur ~= nextId then return 0 end
  if nextId == '' then
    redis.call('DEL', refKey)
    redis.call('ZREM', refNames, name)
  else
    redis.call('SET', refKey, nextId)
    redis.call('ZADD', refNames, 0, name)
  end
  return 1
end
`;

export const SCRIPTS = {
  // KEYS: ref, atime. ARGV: object key prefix, now. → {id, commit bytes, output blob bytes} or nil.
  cashetHit: {
    numberOfKeys: 2,
    lua: `
local id = redis.call('GET', KEYS[1])
if not id then return nil end
local c = redis.call('GET', ARGV[1] .. id)
if not c then return {id} end
redis.call('HSET', KEYS[2], id, ARGV[2])
local ok, commit = pcall(cjson.decode, c)
if not ok or type(commit) ~= 'table' or type(commit.output) ~= 'table' then return {id, c} end
local h = commit.output.hash
if type(h) ~= 'string' then return {id, c} end
if type(commit.inline) == 'table' and commit.inline[h] ~= nil then return {id, c} end
local b = redis.call('GET', ARGV[1] .. h)
if not b then return {id, c} end
return {id, c, b}
`,
  },
  // KEYS: temp, dest, object ids, atime. ARGV: id, now. → 1 when stored, 0 when it existed.
  cashetFinish: {
    numberOfKeys: 4,
    lua: `
redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('DEL', KEYS[1])
  return 0
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('RENAME', KEYS[1], KEYS[2])
  redis.call('PERSIST', KEYS[2])
else
  redis.call('SET', KEYS[2], '')
end
redis.call('ZADD', KEYS[3], 0, ARGV[1])
return 1
`,
  },
  // KEYS: ref, ref names. ARGV: name, next ('' deletes), hasExpected, expected ('' = absent).
  cashetRefUpdate: {
    numberOfKeys: 2,
    lua: `${REF_UPDATE}
return ref_update(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
`,
  },
  // KEYS: claim. ARGV: holder value, ttl ms. → 1 while held by that value.
  cashetRenew: {
    numberOfKeys: 1,
    lua: `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`,
  },
  cashetRelease: {
    numberOfKeys: 1,
    lua: `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`,
  },
  // KEYS: claim, ref, ref names. ARGV: holder value, ref name, commit, has expected '1'/'0',
  // expected head ('' = none). → 1 when the ref moved. A claim's ref part in publishRun's order
  // (plumbing/publish.ts): the claim fences the write — its holder moves the ref from the head it
  // saw, or over whatever is there (both are runs of this call); a holder that lost its claim
  // (paused past the ttl while another took over) moves it only from the head it saw, never over.
  // Having moved it, the holder lets go of the claim in the same step: a miss publishes in one
  // script after its index update (two when the head moved meanwhile).
  cashetPublishRef: {
    numberOfKeys: 3,
    lua: `${REF_UPDATE}
local holds = redis.call('GET', KEYS[1]) == ARGV[1]
if ARGV[4] ~= '1' and not holds then return 0 end
if ref_update(KEYS[2], KEYS[3], ARGV[2], ARGV[3], ARGV[4], ARGV[5]) == 0 then return 0 end
if holds then redis.call('DEL', KEYS[1]) end
return 1
`,
  },
  // KEYS: entries, counters, blobs, byTime, byFunc, byFingerprint, byStatus, byExpiry, then 2 per
  // tag (k=v, k), then 2 per blob (its referrer set, its object).
  // ARGV: id, entry JSON, created ms, expires ms or '', status, tag count, blob count, stored
  // bytes, then 3 per blob (id, inline '1'/'0', size).
  cashetIndexAdd: {
    lua: `
local id = ARGV[1]
if redis.call('HEXISTS', KEYS[1], id) == 1 then return 0 end
redis.call('HSET', KEYS[1], id, ARGV[2])
local ts = ARGV[3]
for i = 4, 7 do redis.call('ZADD', KEYS[i], ts, id) end
if ARGV[4] ~= '' then redis.call('ZADD', KEYS[8], ARGV[4], id) end
local k = 9
for i = 1, tonumber(ARGV[6]) * 2 do
  redis.call('ZADD', KEYS[k], ts, id)
  k = k + 1
end
redis.call('HINCRBY', KEYS[2], 'totalCommits', 1)
if ARGV[5] == 'completed' then redis.call('HINCRBY', KEYS[2], 'completedCommits', 1) else redis.call('HINCRBY', KEYS[2], 'failedCommits', 1) end
redis.call('HINCRBY', KEYS[2], 'commitBytes', ARGV[8])
local a = 9
for i = 1, tonumber(ARGV[7]) do
  local blob, inline, size = ARGV[a], ARGV[a + 1], ARGV[a + 2]
  a = a + 3
  redis.call('SADD', KEYS[k], id)
  if inline == '1' then
    redis.call('HINCRBY', KEYS[2], 'inlineObjects', 1)
    redis.call('HINCRBY', KEYS[2], 'inlineBytes', size)
  elseif redis.call('HEXISTS', KEYS[3], blob) == 0 and redis.call('EXISTS', KEYS[k + 1]) == 1 then
    local stored = redis.call('STRLEN', KEYS[k + 1])
    redis.call('HSET', KEYS[3], blob, stored)
    redis.call('HINCRBY', KEYS[2], 'blobObjects', 1)
    redis.call('HINCRBY', KEYS[2], 'blobBytes', stored)
  end
  k = k + 2
end
return 1
`,
  },
  // KEYS: entries, counters, last access, byTime, byFunc, byFingerprint, byStatus, byExpiry, then 2
  // per tag, then 1 per blob (its referrer set). ARGV: id, status, stored bytes, tag count, blob
  // count, then 3 per blob (id, inline, size). → the non-inline blobs no commit references now.
  cashetIndexRemove: {
    lua: `
local id = ARGV[1]
if redis.call('HDEL', KEYS[1], id) == 0 then return {} end
redis.call('HDEL', KEYS[3], id)
for i = 4, 8 do redis.call('ZREM', KEYS[i], id) end
local k = 9
for i = 1, tonumber(ARGV[4]) * 2 do
  redis.call('ZREM', KEYS[k], id)
  k = k + 1
end
redis.call('HINCRBY', KEYS[2], 'totalCommits', -1)
if ARGV[2] == 'completed' then redis.call('HINCRBY', KEYS[2], 'completedCommits', -1) else redis.call('HINCRBY', KEYS[2], 'failedCommits', -1) end
redis.call('HINCRBY', KEYS[2], 'commitBytes', -tonumber(ARGV[3]))
local orphans = {}
local a = 6
for i = 1, tonumber(ARGV[5]) do
  local blob, inline, size = ARGV[a], ARGV[a + 1], ARGV[a + 2]
  a = a + 3
  redis.call('SREM', KEYS[k], id)
  if inline == '1' then
    redis.call('HINCRBY', KEYS[2], 'inlineObjects', -1)
    redis.call('HINCRBY', KEYS[2], 'inlineBytes', -tonumber(size))
  elseif redis.call('SCARD', KEYS[k]) == 0 then
    table.insert(orphans, blob)
  end
  k = k + 1
end
return orphans
`,
  },
  // KEYS: blobs, counters, object. ARGV: id.
  cashetBlobAdd: {
    numberOfKeys: 3,
    lua: `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 or redis.call('EXISTS', KEYS[3]) == 0 then return 0 end
local stored = redis.call('STRLEN', KEYS[3])
redis.call('HSET', KEYS[1], ARGV[1], stored)
redis.call('HINCRBY', KEYS[2], 'blobObjects', 1)
redis.call('HINCRBY', KEYS[2], 'blobBytes', stored)
return 1
`,
  },
  cashetBlobRemove: {
    numberOfKeys: 2,
    lua: `
local stored = redis.call('HGET', KEYS[1], ARGV[1])
if not stored then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HINCRBY', KEYS[2], 'blobObjects', -1)
redis.call('HINCRBY', KEYS[2], 'blobBytes', -tonumber(stored))
return 1
`,
  },
  // KEYS: entries, last access. ARGV: id, at.
  cashetTouch: {
    numberOfKeys: 2,
    lua: `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
local prev = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if tonumber(ARGV[2]) > prev then redis.call('HSET', KEYS[2], ARGV[1], ARGV[2]) end
return 1
`,
  },
};
