-- One script for every scenario. `bench` writes the data file it loads: the request
-- paths, bodies and tokens sampled from the dataset (see bench/prepare.py): each row is
-- {path, token index, body or nil, alt = alternate body, ifm = If-Match}.
-- Arguments: <data file> <nonce> <thread count>.

local thread_count = 0

function setup(thread)
  thread:set("id", thread_count)
  thread_count = thread_count + 1
end

function init(args)
  dofile(args[1])
  nonce = args[2]
  threads = tonumber(args[3])
  n = 0
  math.randomseed(1000 + id)
end

function request()
  local r
  local template
  if sequential then
    -- Each thread walks its own share of the pool; on odd passes over the pool the
    -- alternate body (if any) undoes what the previous pass did.
    local step = id + n * threads
    r = requests[step % #requests + 1]
    template = r[3]
    if r.alt and math.floor(step / #requests) % 2 == 1 then
      template = r.alt
    end
  else
    r = requests[math.random(#requests)]
    template = r[3]
  end
  n = n + 1
  local headers = { ["Authorization"] = tokens[r[2]] }
  if r.ifm then
    headers["If-Match"] = r.ifm
  end
  local body = nil
  if template then
    local unique = nonce .. id .. "x" .. n
    body = string.gsub(template, "__N__", unique)
    headers["Content-Type"] = "application/json"
    if idempotent then
      headers["Idempotency-Key"] = unique
    end
  end
  return wrk.format(method, r[1], headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "errors_connect": %d, ' ..
    '"errors_read": %d, "errors_write": %d, "errors_status": %d, "errors_timeout": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean))
end
