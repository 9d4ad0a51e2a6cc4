plugin "waf" { threshold = 5 }
listen { "127.0.0.1:8443", tls = { cert = "c", key = "k" } }
service "a" { endpoints = { "127.0.0.1:9001" }, lb = "least_conn" }
route(function() return "a" end)
