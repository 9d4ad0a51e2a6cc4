listen "127.0.0.1:8080"
service "a" { endpoints = { "127.0.0.1:9001" } }
route(function(req) return "a" end)
