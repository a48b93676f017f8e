-- wrk script for bench/run.py. Configured by environment variables:
--   BENCH_MODE      static | ids | post
--   BENCH_PATH      the path (static, post) or the path prefix an id is appended to (ids)
--   BENCH_IDS_FILE  ids mode: one id a line, requests rotate through them
--   BENCH_BODY      post mode: a JSON body with one %d (a request counter, for unique names)
--   BENCH_HEADERS   extra request headers, "Name: value" lines (e.g. Authorization)
-- Requests are formatted once in init(); response() counts answers outside 2xx, and done()
-- prints one machine-readable line: BENCH_JSON {...} (and BENCH_BAD with a sample answer).

local mode = os.getenv("BENCH_MODE") or "static"
local path = os.getenv("BENCH_PATH") or "/"
local ids_file = os.getenv("BENCH_IDS_FILE")
local body_template = os.getenv("BENCH_BODY") or "{}"
local extra_headers = os.getenv("BENCH_HEADERS") or ""

local threads = {}
local reqs = {}
local nreqs = 0
local cursor = 0

-- Globals, so done() can read them from every thread with thread:get().
non2xx = 0
bad_status = 0
bad_body = ""
tid = 0

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  for line in string.gmatch(extra_headers, "[^\n]+") do
    local name, value = string.match(line, "^([^:]+):%s*(.*)$")
    if name then
      wrk.headers[name] = value
    end
  end
  if mode == "ids" then
    for line in io.lines(ids_file) do
      if #line > 0 then
        reqs[#reqs + 1] = wrk.format("GET", path .. line)
      end
    end
  elseif mode == "post" then
    for k = 1, 1000 do
      -- wrk.format() does not merge wrk.headers into the table it is given: copy them in.
      local headers = { ["Content-Type"] = "application/json" }
      for name, value in pairs(wrk.headers) do
        headers[name] = value
      end
      local body = string.format(body_template, tid * 1000000 + k)
      reqs[#reqs + 1] = wrk.format("POST", path, headers, body)
    end
  else
    reqs[1] = wrk.format("GET", path)
  end
  nreqs = #reqs
  math.randomseed(tid * 7919 + os.time())
  cursor = math.random(nreqs) - 1
end

function request()
  cursor = cursor + 1
  if cursor > nreqs then
    cursor = 1
  end
  return reqs[cursor]
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if bad_status == 0 then
      bad_status = status
      bad_body = string.sub(string.gsub(body or "", "[%c]", " "), 1, 300)
    end
  end
end

function done(summary, latency, requests)
  local bad = 0
  local first_status = 0
  local first_body = ""
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("non2xx") or 0)
    local status = thread:get("bad_status") or 0
    if first_status == 0 and status ~= 0 then
      first_status = status
      first_body = thread:get("bad_body") or ""
    end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "non2xx": %d, '
      .. '"errors_connect": %d, "errors_read": %d, "errors_write": %d, "errors_timeout": %d, '
      .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, summary.bytes, bad,
    e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
  if first_status ~= 0 then
    io.write(string.format("BENCH_BAD %d %s\n", first_status, first_body))
  end
end
