listen "127.0.0.1:8080"
service "web" { endpoints = { "127.0.0.1:9001" } }
service "api" { endpoints = { "127.0.0.1:9002" } }
local router = require "foyer.router"
route(router.new { semantics = "ingress", default = "web", routes = { { hostnames = { "*.example.com", "a.com" }, rules = { { path = { type = "Exact", value = "/api" }, backends = { "api" } }, { path = "/s", filters = { { type = "RequestRedirect", scheme = "https", statusCode = 301 } } } } } } })
