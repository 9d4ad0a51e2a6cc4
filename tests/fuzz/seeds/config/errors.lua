set { workers = -1 }
listen "nope"
service "a" { endpoints = { } }
service "a" { endpoints = { "1.2.3.4:5" } }
route(1)
