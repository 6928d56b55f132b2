-- wrk script: POST Single Send requests with a unique sendId each (every request is a new email).
-- Used by bench/simulator_load.sh; TOKEN and EMAIL_ID come from the environment.
local threads = {}
local token = os.getenv("TOKEN") or "bench-token"
local email_id = os.getenv("EMAIL_ID") or "1001"

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  counter = 0
  prefix = string.format("wrk-%d-%d-", os.time(), tid)
  headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"emailId":%s,"message":{"to":"user%d@example.com","sendId":"%s%d"},' ..
    '"contactProperties":{"firstname":"Ada"},"customProperties":{"order":"A-%d"}}',
    email_id, counter, prefix, counter, counter)
  return wrk.format("POST", "/marketing/v3/transactional/single-email/send", headers, body)
end

function done(summary, latency, requests)
  local non2xx = summary.errors.status
  io.write(string.format("requests=%d duration_s=%.2f req_per_s=%.0f non2xx=%d socket_errors=%d p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6), non2xx,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
