-- wrk script for suite `peers`: PUT, GET or range requests, chosen by environment.
--
--   BENCH_WRK_MODE    put | get | range
--   BENCH_WRK_PREFIX  path up to the key, e.g. /v1/collections/bench/docs/
--   BENCH_WRK_RUN     a label that makes PUT keys unique per run
--   BENCH_WRK_KEYS    how many documents k000000.. exist (get, range)
--   BENCH_WRK_BODY    the PUT body (100 bytes of JSON)
--   BENCH_WRK_AUTH    an Authorization header value, or empty
--
-- `done` prints one JSON line the harness parses.

local mode = os.getenv("BENCH_WRK_MODE") or "get"
local prefix = os.getenv("BENCH_WRK_PREFIX") or "/v1/collections/bench/docs/"
local run = os.getenv("BENCH_WRK_RUN") or "r"
local keys = tonumber(os.getenv("BENCH_WRK_KEYS") or "1000")
local body = os.getenv("BENCH_WRK_BODY") or "{}"
local auth = os.getenv("BENCH_WRK_AUTH") or ""

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
  tid = tid or 0
  math.randomseed(os.time() + tid * 7919)
end

function request()
  counter = counter + 1
  if mode == "put" then
    local path = string.format("%s%s-t%d-%09d", prefix, run, tid, counter)
    return wrk.format("PUT", path, nil, body)
  elseif mode == "range" then
    local start = math.random(0, keys - 101)
    -- prefix is the collection's docs path without the trailing slash here
    return wrk.format("GET", string.format("%s?gte=k%06d&limit=100", prefix, start))
  end
  return wrk.format("GET", string.format("%sk%06d", prefix, math.random(0, keys - 1)))
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(99), latency.max))
end
