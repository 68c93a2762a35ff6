-- wrk script: after the normal report, prints one machine-readable line
--   BENCH_RESULT requests=<n> duration_us=<n> rps=<f> p50_us=<n> p99_us=<n> non2xx=<n> socket_errors=<n>
-- so the bench scripts need not parse wrk's human units (us/ms/s, k/M).
-- Only done() is defined: wrk then keeps its fast C request path.

done = function(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "BENCH_RESULT requests=%d duration_us=%d rps=%.2f p50_us=%d p99_us=%d non2xx=%d socket_errors=%d\n",
      summary.requests, summary.duration,
      summary.requests / (summary.duration / 1e6),
      latency:percentile(50), latency:percentile(99),
      e.status, e.connect + e.read + e.write + e.timeout))
end
