-- wrk script: POST the body given as the first script argument, with any further arguments
-- as extra request headers ("Name: value"); at the end print the run as one JSON line
-- prefixed with "BENCH_JSON " (latencies in microseconds).
--   wrk -t1 -c32 -d8s -s bench/wrk_report.lua URL -- '{"some":"json"}' 'Authorization: Bearer T'
-- Besides wrk's own counters it tallies every status code and keeps the first body of a
-- non-2xx answer, so an error rate comes with evidence.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
   wrk.body = args[1]
   for i = 2, #args do
      local name, value = string.match(args[i], "^([^:]+):%s*(.*)$")
      if name == nil then error("header argument is not 'Name: value': " .. args[i]) end
      wrk.headers[name] = value
   end
   statuses = {}
   first_bad = ""
end

function response(status, headers, body)
   local key = tostring(status)
   statuses[key] = (statuses[key] or 0) + 1
   if (status < 200 or status > 299) and first_bad == "" then
      first_bad = tostring(status) .. " " .. string.sub(body or "", 1, 300)
   end
end

local function quote(s)
   return '"' .. string.gsub(s, '[%c"\\]', function(c)
      return string.format("\\u%04x", string.byte(c))
   end) .. '"'
end

function done(summary, latency, requests)
   local counts, bad = {}, ""
   for _, thread in ipairs(threads) do
      for code, n in pairs(thread:get("statuses") or {}) do
         counts[code] = (counts[code] or 0) + n
      end
      local b = thread:get("first_bad")
      if bad == "" and b and b ~= "" then bad = b end
   end
   local parts = {}
   for code, n in pairs(counts) do
      table.insert(parts, string.format('"%s":%d', code, n))
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,'
      .. '"non2xx":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,'
      .. '"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d,'
      .. '"statuses":{%s},"first_non2xx":%s}\n',
      summary.requests, summary.duration, summary.bytes,
      e.status, e.connect, e.read, e.write, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.mean, latency.max,
      table.concat(parts, ","), quote(bad)))
end
