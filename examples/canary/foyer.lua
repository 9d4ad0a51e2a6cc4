-- Canary release of shop.example: 90 % of the traffic to the stable build,
-- 10 % to the canary; testers force a side with a header or a cookie.
--   x-canary: always   -> shop-canary
--   x-canary: never    -> shop-stable
--   Cookie: canary=1   -> shop-canary (checked by code, before the rules)
--   anything else      -> 90 % shop-stable, 10 % shop-canary
set { workers = 2, access_log = false }

listen "127.0.0.1:8080"

service "shop-stable" { endpoints = { "127.0.0.1:9001" } }
service "shop-canary" { endpoints = { "127.0.0.1:9002" } }

local router = require "foyer.router"

local rules = router.new {
  semantics = "gateway",
  routes = {
    { hostnames = { "shop.example" },
      rules = {
        -- A rule with a header match wins over the catch-all below.
        { matches = { { headers = { { name = "x-canary", value = "always" } } } },
          backends = { { service = "shop-canary" } } },
        { matches = { { headers = { { name = "x-canary", value = "never" } } } },
          backends = { { service = "shop-stable" } } },
        { backends = { { service = "shop-stable", weight = 90 },
                       { service = "shop-canary", weight = 10 } } },
      } },
  },
}

-- Rules and code mixed: a cookie pins a tester to the canary, then the
-- rules decide (nil, i.e. 404, for any other host).
route(function(req)
  if req.host == "shop.example" and req:cookie("canary") == "1" then
    return { service = "shop-canary", tag = "canary-cookie" }
  end
  return rules:match(req)
end)
