-- wrk script for suite `peers`: create, update, GET or range requests, chosen by environment.
--
--   BENCH_WRK_MODE    put (a fresh key each) | update (an existing key) | get | range
--   BENCH_WRK_PREFIX  path up to the key, e.g. /v1/collections/bench/docs/
--   BENCH_WRK_RUN     a label that makes PUT keys unique per run
--   BENCH_WRK_KEYS    how many documents exist (update, get, range)
--   BENCH_WRK_KEYFMT  their keys, a string.format pattern of the index (default k%06d)
--   BENCH_WRK_BODY    the write body (100 bytes of JSON, or PocketBase's {"doc":...})
--   BENCH_WRK_AUTH    an Authorization header value, or empty
--   BENCH_WRK_ORIGIN  an Origin header value (a browser's request), or empty
--   BENCH_WRK_CREATE  put: PUT <prefix><fresh key> (default) | post: POST <prefix> (PocketBase)
--   BENCH_WRK_UPDATE  the method of an update: PUT (default) | PATCH (PocketBase)
--   BENCH_WRK_RANGE   the range query after the path, %s = the first key
--                     (default ?gte=%s&limit=100)
--
-- `done` prints one JSON line the harness parses.

local mode = os.getenv("BENCH_WRK_MODE") or "get"
local prefix = os.getenv("BENCH_WRK_PREFIX") or "/v1/collections/bench/docs/"
local run = os.getenv("BENCH_WRK_RUN") or "r"
local keys = tonumber(os.getenv("BENCH_WRK_KEYS") or "1000")
local keyfmt = os.getenv("BENCH_WRK_KEYFMT") or ""
local body = os.getenv("BENCH_WRK_BODY") or "{}"
local auth = os.getenv("BENCH_WRK_AUTH") or ""
local origin = os.getenv("BENCH_WRK_ORIGIN") or ""
local create = os.getenv("BENCH_WRK_CREATE") or "put"
local update = os.getenv("BENCH_WRK_UPDATE") or "PUT"
local range = os.getenv("BENCH_WRK_RANGE") or ""
if keyfmt == "" then keyfmt = "k%06d" end
if range == "" then range = "?gte=%s&limit=100" end

local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  wrk.headers["Content-Type"] = "application/json"
  if auth ~= "" then
    wrk.headers["Authorization"] = auth
  end
  if origin ~= "" then
    wrk.headers["Origin"] = origin
  end
  tid = tid or 0
  math.randomseed(os.time() + tid * 7919)
end

local function key(i)
  return string.format(keyfmt, i)
end

function request()
  counter = counter + 1
  if mode == "put" then
    if create == "post" then
      return wrk.format("POST", prefix, nil, body)
    end
    local path = string.format("%s%s-t%d-%09d", prefix, run, tid, counter)
    return wrk.format("PUT", path, nil, body)
  elseif mode == "update" then
    return wrk.format(update, prefix .. key(math.random(0, keys - 1)), nil, body)
  elseif mode == "range" then
    -- prefix is the collection's path without the trailing slash here
    local start = key(math.random(0, keys - 101))
    return wrk.format("GET", prefix .. string.format(range, start))
  end
  return wrk.format("GET", prefix .. key(math.random(0, keys - 1)))
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(99), latency.max))
end
