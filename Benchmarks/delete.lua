-- DELETE of seeded clients, each once: thread t deletes t, t+T, t+2T, ... from the top of the range.
local seeded = tonumber(os.getenv("BENCH_SEEDED") or "1000")
local threads_total = tonumber(os.getenv("BENCH_THREADS") or "2")
local n = 0
function request()
  local i = seeded - 1 - (n * threads_total + tid)
  n = n + 1
  if i < 0 then i = 0 end
  return wrk.format("DELETE", "/iam/api/client-registration/bench-" .. i, { ["Authorization"] = "Bearer bench." .. i .. ".t" })
end
