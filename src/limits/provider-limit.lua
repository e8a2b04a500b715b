--[[
  rqctl provider rate limits: one budget per provider, shared by every client that runs this script
  (rqctl workers on every host, and any other application: docs/rate-limits.md). One call per
  permit, or per lease of several. The clock is Redis' own (TIME), never a client's. Requires
  Redis 5+ (effects replication).

  A sliding-window log: every request start is an entry in KEYS[1], so "at most N starts in ANY
  window of W ms" holds exactly for every limit passed, at every boundary (fixed windows allow 2N
  across one). The provider counts arrivals, which trail permits by however long each request takes
  to leave its host (milliseconds, more on a loaded host or a new TLS connection): so a permit holds
  its place for its window plus a margin of a tenth of the window, at most 250 ms.

  KEYS[1]  <prefix>:rqctl:limits:<provider>:log      zset   request starts (score: Redis time, ms)
  KEYS[2]  <prefix>:rqctl:limits:<provider>:waiting  zset   caller → its turn in line (ms)
  KEYS[3]  <prefix>:rqctl:limits:<provider>:paused   string paused until (ms), set with PX
  KEYS[4]  <prefix>:rqctl:limits:<provider>:stats    hash   throttled:<minute>, 429:<minute> (minute = ms / 60000)
  KEYS[5]  pause only, optional: an existing hash to count this caller's 429s in (field ARGV[3])

  take    ARGV: 'take', n, max_1, windowMs_1, ..., max_n, windowMs_n [, caller [, want, leaseMs] ]
          → {1}             granted: start the request now (it is logged)
          → {1, g, leaseMs} granted g permits (2 ≤ g ≤ want) for leaseMs: a lease, see below
          → {0, waitMs, i}  refused: ask again in waitMs; i = the limit that refused (1..n), 0 = paused
          Refused callers get turns in line, one every window/N. `caller` (any id, the same each time
          it asks for the same request, or '') keeps the caller's place: nobody who arrives later takes
          a slot from a caller whose turn has come. Without it a caller is only told when to ask again.
          A lease (want > 1, leaseMs > 0, at most the arrival margin of every limit): while nobody is
          in line and no pause is in force, up to `want` permits at once (at most 1000), at most an
          eighth of what each limit has left. They are logged as starting at the lease's end (now +
          leaseMs), the latest moment the caller may use them, so every window still holds exactly:
          a permit of a lease not used by then is dropped by the caller (it stays counted, never
          reused).
  pause   ARGV: 'pause', ms [, field]    after an HTTP 429: ms = Retry-After (at least 1000), 0 = only count it
          → {pausedUntilMs, waitMs, count of 429s in KEYS[5] (0 without it)}
  status  ARGV: 'status', n, max_1, windowMs_1, ...
          → {pausedUntilMs or 0, throttled in the last hour, 429s in the last hour, used_1, ..., used_n}

  Every client of one provider must pass the same limits: the log is trimmed to the longest window
  passed. Keys expire on their own once the provider is idle.
]]
if redis.replicate_commands then
  pcall(redis.replicate_commands)
end

local LOG, WAITING, PAUSED, STATS = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local op = ARGV[1]

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local minute = math.floor(now / 60000)

local function ms(x)
  return string.format('%.3f', x)
end

local function pausedUntil()
  local v = tonumber(redis.call('GET', PAUSED) or '0') or 0
  if v > now then
    return v
  end
  return 0
end

local function count(kind)
  redis.call('HINCRBY', STATS, kind .. ':' .. minute, 1)
  redis.call('PEXPIRE', STATS, 3720000)
  -- One field per minute and kind: drop those older than an hour once there are more than two hours' worth.
  if redis.call('HLEN', STATS) > 240 then
    local old = {}
    for _, field in ipairs(redis.call('HKEYS', STATS)) do
      local m = tonumber(string.match(field, ':(%d+)$'))
      if m and m < minute - 60 then
        old[#old + 1] = field
      end
    end
    for i = 1, #old, 100 do
      redis.call('HDEL', STATS, unpack(old, i, math.min(i + 99, #old)))
    end
  end
end

-- Each limit's window as this script counts it: the configured one plus the arrival margin.
local function limits()
  local n = tonumber(ARGV[2])
  local maxes, windows, longest = {}, {}, 0
  for i = 1, n do
    maxes[i] = tonumber(ARGV[1 + 2 * i])
    local w = tonumber(ARGV[2 + 2 * i])
    windows[i] = w + math.min(w / 10, 250)
    if windows[i] > longest then
      longest = windows[i]
    end
  end
  return n, maxes, windows, longest
end

local function unique(key, score)
  local member = ms(score)
  local k = 0
  while redis.call('ZADD', key, 'NX', score, member) == 0 do
    k = k + 1
    member = ms(score) .. '-' .. k
  end
end

if op == 'take' then
  local n, maxes, windows, longest = limits()
  local caller = ARGV[3 + 2 * n]
  if caller == '' then
    caller = nil
  end
  local spacing = windows[1] / maxes[1]
  for i = 2, n do
    spacing = math.min(spacing, windows[i] / maxes[i])
  end
  redis.call('ZREMRANGEBYSCORE', LOG, '-inf', ms(now - longest))
  -- Nobody in line (no throttling going on): three calls fewer on the path every unthrottled request takes.
  local line = redis.call('EXISTS', WAITING) == 1
  local mine, ahead = nil, 0
  if line then
    -- A turn whose caller has not come back well after it (a job removed, a request given up) is let go.
    redis.call('ZREMRANGEBYSCORE', WAITING, '-inf', ms(now - math.max(1000, 2 * spacing)))
    mine = caller and tonumber(redis.call('ZSCORE', WAITING, caller))
    -- Callers whose turn has come before this one's keep their slots: nobody jumps the line.
    if mine and mine <= now then
      ahead = redis.call('ZCOUNT', WAITING, '-inf', '(' .. ms(mine))
    else
      ahead = redis.call('ZCOUNT', WAITING, '-inf', ms(now))
    end
  end
  local paused = pausedUntil()
  local used, full = {}, paused > 0
  for i = 1, n do
    used[i] = redis.call('ZCOUNT', LOG, '(' .. ms(now - windows[i]), '+inf')
    if used[i] + ahead >= maxes[i] then
      full = true
    end
  end
  if not full then
    local want = math.min(tonumber(ARGV[4 + 2 * n] or '') or 1, 1000)
    -- A lease lasts at most every limit's arrival margin: its permits then never outlive the log's expiry.
    local leaseMs = tonumber(ARGV[5 + 2 * n] or '') or 0
    for i = 1, n do
      local w = tonumber(ARGV[2 + 2 * i])
      leaseMs = math.min(leaseMs, w / 10, 250)
    end
    leaseMs = math.floor(leaseMs)
    local g = 1
    if want > 1 and leaseMs >= 1 and not line and paused == 0 then
      g = want
      for i = 1, n do
        g = math.min(g, math.floor((maxes[i] - used[i]) / 8))
      end
    end
    if g > 1 then
      local at, base, args = now + leaseMs, ms(now), {}
      for k = 1, g do
        args[2 * k - 1] = at
        args[2 * k] = base .. '#' .. k
      end
      local added = redis.call('ZADD', LOG, 'NX', unpack(args))
      for _ = added + 1, g do
        unique(LOG, at)
      end
      redis.call('PEXPIRE', LOG, math.ceil(longest + leaseMs))
      return {1, g, leaseMs}
    end
    unique(LOG, now)
    redis.call('PEXPIRE', LOG, math.ceil(longest))
    if mine then
      redis.call('ZREM', WAITING, caller)
    end
    return {1}
  end

  -- Refused: when may the p-th caller in line (0 = the first) start? For each limit, the slots of
  -- the next window are the entries that will expire (and, while the log is not full, the free
  -- ones); slot p is slot p mod N, W later for every round of N before it.
  local from = math.max(now, paused)
  local function turn(p)
    local at, by = from, 0
    for i = 1, n do
      local N, W = maxes[i], windows[i]
      local idx = (p % N) - (N - used[i])
      local base = from - W
      if idx >= 0 then
        base = tonumber(redis.call('ZRANGEBYSCORE', LOG, '(' .. ms(now - W), '+inf', 'WITHSCORES', 'LIMIT', idx, 1)[2])
      end
      local s = base + W * (1 + math.floor(p / N))
      if s > at then
        at, by = s, i
      end
    end
    return at, by
  end

  local at, by = turn(ahead)
  if mine then
    -- In line already: it keeps its place, and comes back at its turn or when a slot frees for it.
    at = math.max(at, mine)
  elseif caller or at - now > spacing then
    -- A new caller goes to the back of the line, at least the spacing after the last turn given, so
    -- refused callers come back one by one at the rate the budget allows, not in bursts. A caller
    -- that names itself keeps that place when it comes back; an anonymous one (whose slot frees
    -- within the spacing) is only told when to ask again.
    at, by = turn(redis.call('ZCARD', WAITING))
    local last = redis.call('ZRANGE', WAITING, -1, -1, 'WITHSCORES')[2]
    if last and tonumber(last) + spacing > at then
      at = tonumber(last) + spacing
    end
    if caller then
      redis.call('ZADD', WAITING, at, caller)
      redis.call('PEXPIRE', WAITING, math.ceil(at - now + math.max(1000, 2 * spacing)) + 1000)
    end
  end
  count('throttled')
  return {0, math.max(1, math.ceil(at - now)), by}
end

if op == 'pause' then
  local wait = tonumber(ARGV[2])
  local untilMs = pausedUntil()
  if wait > 0 then
    wait = math.max(1000, wait)
    if now + wait > untilMs then
      untilMs = math.ceil(now + wait)
      redis.call('SET', PAUSED, string.format('%.0f', untilMs), 'PX', math.ceil(wait))
      -- Turns promised before the pause are void: those callers are refused and queue again.
      redis.call('DEL', WAITING)
    end
  end
  count('429')
  local n429 = 0
  if KEYS[5] and ARGV[3] and redis.call('EXISTS', KEYS[5]) == 1 then
    n429 = redis.call('HINCRBY', KEYS[5], ARGV[3], 1)
  end
  return {untilMs, math.max(0, math.ceil(untilMs - now)), n429}
end

if op == 'status' then
  local n, maxes, windows = limits()
  local throttled, http429 = 0, 0
  local fields = redis.call('HGETALL', STATS)
  for i = 1, #fields, 2 do
    local kind, m = string.match(fields[i], '^(.-):(%d+)$')
    if m and tonumber(m) > minute - 60 then
      if kind == 'throttled' then
        throttled = throttled + tonumber(fields[i + 1])
      elseif kind == '429' then
        http429 = http429 + tonumber(fields[i + 1])
      end
    end
  end
  local out = {math.ceil(pausedUntil()), throttled, http429}
  for i = 1, n do
    out[3 + i] = redis.call('ZCOUNT', LOG, '(' .. ms(now - windows[i]), '+inf')
  end
  return out
end

return redis.error_reply('rqctl provider-limit: unknown operation ' .. tostring(op) .. ' (take, pause or status)')
