-- PUT of seeded clients with a new redirect URI.
local seeded = tonumber(os.getenv("BENCH_SEEDED") or "1000")
local n = 0
function request()
  n = n + 1
  local i = (tid * 7919 + n * 104729) % seeded
  local body = '{"client_id":"bench-' .. i .. '","redirect_uris":["https://updated.example/cb/' .. n .. '"],"client_name":"updated","grant_types":["authorization_code","client_credentials"],"scope":"openid read"}'
  return wrk.format("PUT", "/iam/api/client-registration/bench-" .. i,
    { ["Authorization"] = "Bearer bench." .. i .. ".t", ["Content-Type"] = "application/json" }, body)
end
