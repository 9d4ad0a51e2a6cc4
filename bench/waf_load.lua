-- wrk script for bench/waf.sh: a browser-like small GET with a query, or a
-- JSON POST (BENCH_BODY_FILE), plus report.lua's summary line.
dofile(os.getenv("BENCH_DIR") .. "/report.lua")

wrk.headers["User-Agent"] =
  "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
wrk.headers["Accept"] = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
wrk.headers["Accept-Language"] = "en-US,en;q=0.5"
wrk.headers["Accept-Encoding"] = "gzip, deflate"
wrk.headers["Cookie"] = "session=7f3a9c2e41b84d0f; theme=dark"
wrk.headers["Referer"] = "http://vincentpizza.com/menu/"

local file = os.getenv("BENCH_BODY_FILE")
if file and file ~= "" then
  local f = assert(io.open(file, "rb"))
  wrk.method = "POST"
  wrk.body = f:read("*a")
  f:close()
  wrk.headers["Content-Type"] = "application/json"
end
