-- Rewrites and redirects with the foyer.router library.
--   http://secure.example/...   -> 301 to https://secure.example/... (same path)
--   example.com/...             -> 301 to www.example.com/... (same path)
--   www.example.com/api/...     -> api, with /api stripped (/api/users -> /users)
--   www.example.com/assets/...  -> static, as /static/...
--   www.example.com/old-blog/.. -> 301 to /blog/...
--   www.example.com/blog/...    -> blog, unchanged
set { workers = 2, access_log = false }

listen "127.0.0.1:8080"

service "api"    { endpoints = { "127.0.0.1:9001" } }
service "static" { endpoints = { "127.0.0.1:9002" } }
service "blog"   { endpoints = { "127.0.0.1:9003" } }

local router = require "foyer.router"

local function prefix(p) return { { path = { type = "PathPrefix", value = p } } } end

route(router.new {
  semantics = "gateway",
  routes = {
    -- http -> https: scheme only, so host, path and query stay.
    { hostnames = { "secure.example" },
      rules = { { filters = { { type = "RequestRedirect", scheme = "https", statusCode = 301 } } } } },
    -- The bare domain moves to www.
    { hostnames = { "example.com" },
      rules = { { filters = { { type = "RequestRedirect", hostname = "www.example.com",
                                statusCode = 301 } } } } },
    { hostnames = { "www.example.com" },
      rules = {
        -- Strip a prefix: "/api" replaced by "/" (and never "//").
        { matches = prefix("/api"),
          filters = { { type = "URLRewrite", path = { type = "ReplacePrefixMatch", value = "/" } } },
          backends = { { service = "api" } } },
        -- Replace a prefix by another.
        { matches = prefix("/assets"),
          filters = { { type = "URLRewrite", path = { type = "ReplacePrefixMatch", value = "/static" } } },
          backends = { { service = "static" } } },
        -- Old URLs redirect for good to their new place.
        { matches = prefix("/old-blog"),
          filters = { { type = "RequestRedirect", statusCode = 301,
                        path = { type = "ReplacePrefixMatch", value = "/blog" } } } },
        { matches = prefix("/blog"), backends = { { service = "blog" } } },
      } },
  },
})
