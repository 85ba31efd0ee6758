-- GET of seeded clients (bench-<i>, token bench.<i>.t), spread over the seeded range.
local seeded = tonumber(os.getenv("BENCH_SEEDED") or "1000")
local n = 0
function request()
  n = n + 1
  local i = (tid * 7919 + n * 104729) % seeded
  return wrk.format("GET", "/iam/api/client-registration/bench-" .. i, { ["Authorization"] = "Bearer bench." .. i .. ".t" })
end
