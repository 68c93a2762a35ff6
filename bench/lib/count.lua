-- wrk script: stop after about BENCH_REQUESTS responses in total (each thread stops after its
-- share) and, when BENCH_DONE_DIR is set, leave a file "done-<thread>" there as it stops.
-- wrk itself still sleeps for its whole -d before reporting, so rss.sh waits for the files
-- and then sends wrk SIGINT, on which wrk reports at once. Prints the same BENCH_RESULT line
-- as report.lua. Used by rss.sh, where the number of requests matters, not their speed.

local total = tonumber(os.getenv("BENCH_REQUESTS") or "1000000")
local threads = tonumber(os.getenv("BENCH_THREADS") or "2")
local done_dir = os.getenv("BENCH_DONE_DIR")
local share = math.ceil(total / threads)
local seen = 0
local counter = 0

setup = function(thread)
   counter = counter + 1
   thread:set("thread_no", counter)
end

response = function(status, headers, body)
   seen = seen + 1
   if seen == share then
      if done_dir then
         local f = io.open(done_dir .. "/done-" .. tostring(thread_no), "w")
         if f then f:write(seen, "\n"); f:close() end
      end
      wrk.thread:stop()
   end
end

done = function(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "BENCH_RESULT requests=%d duration_us=%d rps=%.2f p50_us=%d p99_us=%d non2xx=%d socket_errors=%d\n",
      summary.requests, summary.duration,
      summary.requests / (summary.duration / 1e6),
      latency:percentile(50), latency:percentile(99),
      e.status, e.connect + e.read + e.write + e.timeout))
end
