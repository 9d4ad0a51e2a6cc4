set { workers = 2, client_header_timeout = 10, max_header_bytes = 4096, max_headers = 50, max_body_bytes = "1m", access_log = false, access_log_format = "$remote_addr $status", request_id = "X-Request-Id", log_level = "warn", lua_instruction_limit = 100000, lua_memory_limit = 1048576 }
listen "[::1]:8080"
listen { "127.0.0.1:8443" }
service "a" { endpoints = { "127.0.0.1:9001", "[::1]:9002", "https://127.0.0.1:9443" } }
route(function(req) if req.host == "x" then return { service = "a", path = "/y", request_headers = { set = { ["X-A"] = "1" } } } end return nil end)
