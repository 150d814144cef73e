-- wrk script for raw send throughput: every request is a `POST /v1/messages` with a small
-- JSON body. The same script drives chatd and the reference server, so both see the same
-- requests on the same connections.
--
--     CHAT_TOKEN=... CHAT_TO=bob wrk -t1 -c64 -d10s -s bench/send.lua http://127.0.0.1:8001
--
-- `done` prints one JSON line prefixed with `WRK_JSON ` for the driver to parse; only 2xx
-- answers count as committed sends.

local token = os.getenv("CHAT_TOKEN") or "reference"
local recipient = os.getenv("CHAT_TO") or "bob"
local threads = {}

wrk.method = "POST"
wrk.path = "/v1/messages"
wrk.body = '{"to":"' .. recipient .. '","body":"benchmark message with a small body"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token
-- CHAT_PREFER=forward sends at a follower that carries the writes out through the leader.
local prefer = os.getenv("CHAT_PREFER")
if prefer and prefer ~= "" then wrk.headers["Prefer"] = prefer end

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   ok = 0
   redirects = 0
   failures = 0
end

function response(status, headers, body)
   if status >= 200 and status < 300 then
      ok = ok + 1
   elseif status >= 300 and status < 400 then
      redirects = redirects + 1
   else
      failures = failures + 1
   end
end

function done(summary, latency, requests)
   local total_ok, total_redirects, total_failures = 0, 0, 0
   for _, thread in ipairs(threads) do
      total_ok = total_ok + thread:get("ok")
      total_redirects = total_redirects + thread:get("redirects")
      total_failures = total_failures + thread:get("failures")
   end
   local seconds = summary.duration / 1e6
   local errors = summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout
   io.write(string.format(
      'WRK_JSON {"requests":%d,"ok":%d,"redirects":%d,"failures":%d,"socket_errors":%d,'
      .. '"seconds":%.3f,"requests_per_second":%.1f,"ok_per_second":%.1f,'
      .. '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d,"mean":%.1f}}\n',
      summary.requests, total_ok, total_redirects, total_failures, errors,
      seconds, summary.requests / seconds, total_ok / seconds,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency:percentile(99.9), latency.max, latency.mean))
end
