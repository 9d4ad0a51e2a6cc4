-- /etc/foyer/foyer.lua: the configuration of foyer, an HTTP reverse proxy.
--
-- This file is Lua. It is read when foyer starts and again at each reload
-- (systemctl reload foyer). Check it after editing, before reloading:
--
--     foyer -t -c /etc/foyer/foyer.lua
--
-- An invalid file is refused with its file:line error; at a reload, the
-- running configuration then stays in force.
--
-- Every declaration, setting, req field and route decision is described in
-- foyer.lua(5) ("man foyer.lua"); the command and its signals in foyer(8).
-- More examples: /usr/share/doc/foyer/.

-- Global settings: every key is optional. The values shown are the packaged
-- choices; the built-in defaults are listed in foyer.lua(5).
set {
  -- workers = 0,                      -- worker processes; 0: one per CPU
  error_log = "stderr",               -- stderr goes to the journal under systemd
  access_log = "/var/log/foyer/access.log", -- rotated by /etc/logrotate.d/foyer
  log_level = "info",                 -- "error", "warn", "info" or "debug"
  pid_file = "/run/foyer/foyer.pid",  -- lets "foyer -s reload" find the master
  -- grace_period = 30,                -- seconds in-flight requests get at stop
  -- lua_path = "/etc/foyer/lua/?.lua", -- your own Lua modules
}

-- Where foyer accepts connections. The package listens on the loopback
-- interface only, so that installing it exposes nothing. To serve the
-- world, e.g.:
--
--     listen "0.0.0.0:80"
--     listen "[::]:80"
--
-- (the systemd unit grants CAP_NET_BIND_SERVICE for ports below 1024).
-- HTTPS: plugin "tls" { } and listen { "0.0.0.0:443", tls = { ... } },
-- see foyer.lua(5) and tls.md in /usr/share/doc/foyer/.
listen "127.0.0.1:8080"

-- Services: named groups of endpoints requests are proxied to. None yet.
--
-- service "app" {
--   endpoints = { "127.0.0.1:9001", "127.0.0.1:9002" },
-- }
--
-- Load balancing policies and health checks come with the lb plugin:
--
-- plugin "lb" { }
-- service "api" {
--   endpoints = { "10.0.0.1:8080", "10.0.0.2:8080" },
--   lb = "least_conn",
--   health_check = { path = "/health" },
-- }

-- The route function: called for every request with `req` (req.host,
-- req.path, req.method, req:header(name), ...). It returns a service name,
-- nil (404), or a decision table (respond, redirect, backends, path and
-- header rewrites, ...). For large rule sets, require "foyer.router".
--
-- Until services are declared, every request gets a small page saying that
-- foyer runs. A typical first route:
--
-- route(function(req)
--   if req.host == "example.com" and req.path:find("^/api/") then
--     return "api"
--   end
--   return "app"
-- end)
route(function(req)
  return {
    respond = {
      status = 200,
      headers = { ["Content-Type"] = "text/plain; charset=utf-8" },
      body = "foyer is running.\n"
        .. "Edit /etc/foyer/foyer.lua to route requests (see man foyer.lua).\n",
    },
  }
end)
