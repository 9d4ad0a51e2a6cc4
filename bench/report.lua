-- wrk script for bench/run.sh: optional POST body, and a machine-readable
-- summary line ("BENCH {json}") printed after wrk's own --latency report.
--
--   BENCH_POST_BYTES=N   send POST requests with an N-byte body

local post = tonumber(os.getenv("BENCH_POST_BYTES") or "")
if post and post > 0 then
  wrk.method = "POST"
  wrk.body = string.rep("p", post)
  wrk.headers["Content-Type"] = "application/octet-stream"
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
