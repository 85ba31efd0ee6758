-- The soak: registrations, reads and token requests mixed.
local seeded = tonumber(os.getenv("BENCH_SEEDED") or "1000")
local basic = os.getenv("BENCH_BASIC")
local registration = '{"redirect_uris":["https://soak.example/cb"],"client_name":"soak","scope":"openid"}'
local n = 0
function request()
  n = n + 1
  local k = n % 10
  if k < 2 then
    return wrk.format("POST", "/iam/api/client-registration", { ["Content-Type"] = "application/json" }, registration)
  elseif k < 7 then
    local i = (tid * 7919 + n * 104729) % seeded
    return wrk.format("GET", "/iam/api/client-registration/bench-" .. i, { ["Authorization"] = "Bearer bench." .. i .. ".t" })
  else
    return wrk.format("POST", "/token", { ["Content-Type"] = "application/x-www-form-urlencoded", ["Authorization"] = "Basic " .. basic },
      "grant_type=client_credentials&scope=read")
  end
end
