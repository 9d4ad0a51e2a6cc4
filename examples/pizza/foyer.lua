-- vincentpizza.com: URL-based routing and virtual hosting on one listener.
--   vincentpizza.com/menu/...    -> pizza-menu
--   vincentpizza.com/offers/...  -> pizza-offers
--   *.pizza.example              -> pizza-web
set { workers = 2, access_log = false }

listen "127.0.0.1:8080"

service "pizza-menu"   { endpoints = { "127.0.0.1:9001" } }
service "pizza-offers" { endpoints = { "127.0.0.1:9002" } }
service "pizza-web"    { endpoints = { "127.0.0.1:9003" } }

route(function(req)
  local host, path = req.host, req.path
  if host == "vincentpizza.com" then
    if path:find("^/menu/") or path == "/menu" then return "pizza-menu" end
    if path:find("^/offers/") or path == "/offers" then return "pizza-offers" end
    return nil                                  -- 404
  end
  if host:find("%.pizza%.example$") then return "pizza-web" end
  return nil
end)
