-- wrk script: every request asks for a new /fill/<n>, so each one is a miss that stores an entry.
counter = 0
request = function()
   counter = counter + 1
   return wrk.format("GET", "/fill/" .. (counter * 1000 + math.random(0, 999)))
end
