-- wrk script for bench/routes_e2e.sh: every request for a random host among
-- h0.example.com .. h{ROUTES_HOSTS-1}.example.com and a random path below one
-- of the three prefixes of bench/routes_gen.py (/api, /static, /img); prints
-- the "BENCH {json}" summary line that bench/proxycpu.py reads (as
-- bench/report.lua does).
--
--   ROUTES_HOSTS=N   number of generated host names [10]

local hosts = tonumber(os.getenv("ROUTES_HOSTS") or "") or 10
local paths = { "/api/v1/items", "/static/app.js", "/img/logo.png" }
local headers = {}

function init(args)
  -- one seed per wrk thread
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
end

function request()
  headers["Host"] = "h" .. math.random(0, hosts - 1) .. ".example.com"
  return wrk.format("GET", paths[math.random(1, 3)], headers)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout))
end
