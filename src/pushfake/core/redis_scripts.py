"""The Lua scripts `RedisStore` runs in Redis: each one round trip, each atomic.

`ACQUIRE` takes the world lock and catches a replica up; `COMMIT` writes a write-set (applies its
commands to the part keys, appends it to the stream, publishes its change channels) and renews or
lets go of the lock; `RELEASE` lets go of it. `pushfake.core.redis_store` says when each runs,
`pushfake.core.replica` what a write-set holds.
"""

from __future__ import annotations

__all__ = ["ACQUIRE", "COMMIT", "RELEASE"]

# KEYS: lock, version, stream, parts, want. ARGV: token, ttl ms, the replica's version (-1: none),
# '1' to take the lock ('0' only reads: a script sees a commit whole or not at all).
# {0} when the lock is held (and `want` set, so its holder lets go); else {1, version} (up to
# date), {1, version, 'delta', write-sets} or {1, version, 'full', {part key, contents}...}.
ACQUIRE = """
if ARGV[4] == '1' then
  if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
    redis.call('SET', KEYS[5], '1', 'PX', ARGV[2])
    return {0}
  end
  redis.call('DEL', KEYS[5])
end
local version = tonumber(redis.call('GET', KEYS[2]) or '0')
local mine = tonumber(ARGV[3])
if mine == version then return {1, version} end
if mine >= 0 and mine < version then
  local entries = redis.call('XRANGE', KEYS[3], (mine + 1) .. '-0', '+')
  if #entries == version - mine then
    local out = {}
    for i, entry in ipairs(entries) do out[i] = entry[2][2] end
    return {1, version, 'delta', out}
  end
end
local out = {}
for _, key in ipairs(redis.call('HKEYS', KEYS[4])) do
  local kind = redis.call('TYPE', key)['ok']
  local held = nil
  if kind == 'hash' then held = redis.call('HGETALL', key)
  elseif kind == 'string' then held = {redis.call('GET', key)}
  elseif kind == 'list' then held = redis.call('LRANGE', key, 0, -1)
  elseif kind == 'zset' then held = redis.call('ZRANGE', key, 0, -1) end
  if held then out[#out + 1] = key; out[#out + 1] = held end
end
return {1, version, 'full', out}
"""

# KEYS: lock, version, stream, parts, want. ARGV: token, ttl ms, '2' to let go, '1' to if `want`
# is set, stream length, the write-set ('' for none: only renew, publish or release; length-
# prefixed items, `replica.write_set`), the number of channels, the number of part keys to
# register, the channels, then {part key, owner}... {0} (nothing applied) when the token no
# longer holds the lock; else {1, version, 1 if the lock was let go, 1 if another process wants it}.
COMMIT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {0} end
local channels, touched = tonumber(ARGV[6]), tonumber(ARGV[7])
local version = tonumber(redis.call('GET', KEYS[2]) or '0')
local blob = ARGV[5]
if blob ~= '' then
  version = redis.call('INCR', KEYS[2])
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], version .. '-0', 'w', blob)
  local at, n = 1, #blob
  local function item()
    local length = struct.unpack('>I4', blob, at)
    local value = string.sub(blob, at + 4, at + 3 + length)
    at = at + 4 + length
    return value
  end
  while at <= n do
    local op, key = item(), item()
    if op == 'hset' then local field = item(); redis.call('HSET', key, field, item())
    elseif op == 'hdel' then redis.call('HDEL', key, item())
    elseif op == 'set' then redis.call('SET', key, item())
    elseif op == 'del' then redis.call('DEL', key)
    elseif op == 'incrby' then redis.call('INCRBY', key, item())
    elseif op == 'append' then
      local newest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
      local score = 1
      if newest[2] then score = tonumber(newest[2]) + 1 end
      redis.call('ZADD', key, 'NX', score, item())
    elseif op == 'zadd' then local score = item(); redis.call('ZADD', key, score, item())
    elseif op == 'zrem' then redis.call('ZREM', key, item())
    elseif op == 'zpopmin' then redis.call('ZPOPMIN', key)
    elseif op == 'rpush' then redis.call('RPUSH', key, item())
    elseif op == 'lpop' then redis.call('LPOP', key)
    elseif op == 'reset' then
      local kept = {}
      for _ = 1, tonumber(key) do kept[item()] = true end
      local parts = redis.call('HGETALL', KEYS[4])
      for j = 1, #parts, 2 do
        if not kept[parts[j + 1]] then redis.call('DEL', parts[j]); redis.call('HDEL', KEYS[4], parts[j]) end
      end
    else return redis.error_reply('pushfake: unknown write-set op ' .. op) end
  end
end
for j = 8 + channels, 7 + channels + 2 * touched, 2 do redis.call('HSET', KEYS[4], ARGV[j], ARGV[j + 1]) end
for j = 8, 7 + channels do redis.call('PUBLISH', ARGV[j], '') end
local wanted = redis.call('EXISTS', KEYS[5])
if ARGV[3] == '2' or (ARGV[3] == '1' and wanted == 1) then
  redis.call('DEL', KEYS[1], KEYS[5])
  return {1, version, 1, wanted}
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1, version, 0, wanted}
"""

RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
