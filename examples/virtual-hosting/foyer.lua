-- Virtual hosting: several domains on one listener, routed by the
-- foyer.router library (both of its forms: shorthands and full rules).
--   pizza.example, www.pizza.example -> pizza-site
--   pasta.example                    -> pasta-site
--   *.blog.example (alice.blog.example, bob.blog.example, ...) -> blogs
--   api.example/v1/...               -> api-v1
--   api.example/v2/...               -> api-v2
--   anything else                    -> parking (the default backend)
set { workers = 2, access_log = false }

listen "127.0.0.1:8080"

service "pizza-site" { endpoints = { "127.0.0.1:9001" } }
service "pasta-site" { endpoints = { "127.0.0.1:9002" } }
service "blogs"      { endpoints = { "127.0.0.1:9003" } }
service "api-v1"     { endpoints = { "127.0.0.1:9004" } }
service "api-v2"     { endpoints = { "127.0.0.1:9005" } }
service "parking"    { endpoints = { "127.0.0.1:9006" } }

local router = require "foyer.router"

route(router.new {
  semantics = "gateway",
  default = "parking",
  routes = {
    -- Shorthands: one host, an optional path prefix, one service.
    { host = "pizza.example",     service = "pizza-site" },
    { host = "www.pizza.example", service = "pizza-site" },
    { host = "pasta.example",     service = "pasta-site" },
    { host = "*.blog.example",    service = "blogs" },
    -- The full form: hostnames, then rules matching on the path.
    { hostnames = { "api.example" },
      rules = {
        { matches = { { path = { type = "PathPrefix", value = "/v1" } } },
          backends = { { service = "api-v1" } } },
        { matches = { { path = { type = "PathPrefix", value = "/v2" } } },
          backends = { { service = "api-v2" } } },
      } },
  },
})
