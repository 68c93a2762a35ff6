-- wrk script: stop after about BENCH_REQUESTS responses in total (each thread stops after its
-- share) and, when BENCH_DONE_DIR is set, leave a file "done-<thread>" there as it stops.
-- wrk itself still sleeps for its whole -d before reporting, so rss.sh waits for the files
-- and then sends wrk SIGINT, on which wrk reports at once. Prints the same BENCH_RESULT line
-- as report.lua (its done(), loaded below). Used by rss.sh, where the number of requests matters, not their speed.

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

-- The BENCH_RESULT line: report.lua's done(), from beside this file.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")
