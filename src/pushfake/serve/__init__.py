"""`pushfake serve`: `options` (the table of options and their PUSHFAKE_* variables),
`command` (the parser and entry), `server` (the fake on uvicorn, its banner), `sockets` (the
listening socket), `access_log` (one line per request, with the vendor operation) and `watch`
(reloading the fixtures file when it changes)."""
