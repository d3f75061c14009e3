-- The benchmark's scenarios for wrk (the same requests as src/platform/load-tests/scenarios.ts).
-- Set through the environment, since wrk decides at load time whether the script has request():
--   WRK_SCENARIO  hello | health | pk | read | cold-read | search | create | mixed
--   WRK_TOKEN     bearer token for Wardline's patient routes
--   WRK_DATA      folder with hot.txt (working set), cold.txt (ids read once each), prefixes.txt
--   WRK_OFFSET    where cold-read (and pk) start in cold.txt, so that the measured run does not
--                 read the ids its warm-up read
-- done() prints one JSON line with the counts and the latency percentiles (microseconds); every
-- answer outside 2xx and 3xx is counted by wrk itself (summary.errors.status).
local scenario = os.getenv("WRK_SCENARIO") or "hello"
local token = os.getenv("WRK_TOKEN")
local data = os.getenv("WRK_DATA")
local offset = tonumber(os.getenv("WRK_OFFSET") or "0")

if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end

local function lines(name)
  local list = {}
  if not data then return list end
  local file = io.open(data .. "/" .. name, "r")
  if not file then return list end
  for line in file:lines() do list[#list + 1] = line end
  file:close()
  return list
end

local given = { "Ada", "Bruno", "Chloe", "Dmitri", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas" }
local family = { "Loadtest", "Benchmark", "Synthetic", "Measure", "Sample" }
local hot, cold, prefixes = {}, {}, {}
local n, c = 0, offset
local jsonHeaders = {}

function init(args)
  hot = lines("hot.txt")
  cold = lines("cold.txt")
  prefixes = lines("prefixes.txt")
  for k, v in pairs(wrk.headers) do jsonHeaders[k] = v end
  jsonHeaders["Content-Type"] = "application/json"
  math.randomseed(os.time() + offset)
end

local function read()
  return wrk.format("GET", "/api/v1/patients/" .. hot[(n % #hot) + 1])
end

local function coldRead(prefix)
  local id = cold[(c % #cold) + 1]
  c = c + 1
  return wrk.format("GET", prefix .. id)
end

local function search()
  return wrk.format("GET", "/api/v1/patients?q=" .. prefixes[(n % #prefixes) + 1])
end

local function create()
  local body = string.format(
    '{"givenName":"%s","familyName":"%s%d","birthDate":"%d-%02d-%02d","sex":"%s"}',
    given[(n % #given) + 1], family[(n % #family) + 1], n % 1000,
    1940 + (n % 80), (n % 12) + 1, (n % 28) + 1, (n % 2 == 0) and "female" or "male")
  return wrk.format("POST", "/api/v1/patients", jsonHeaders, body)
end

if scenario == "pk" then
  request = function() n = n + 1; return coldRead("/patients/") end
elseif scenario == "read" then
  request = function() n = n + 1; return read() end
elseif scenario == "cold-read" then
  request = function() n = n + 1; return coldRead("/api/v1/patients/") end
elseif scenario == "search" then
  request = function() n = n + 1; return search() end
elseif scenario == "create" then
  request = function() n = n + 1; return create() end
elseif scenario == "mixed" then
  request = function()
    n = n + 1
    local r = math.random()
    if r < 0.7 then return read() end
    if r < 0.9 then return search() end
    return create()
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"durationUs":%d,"bytes":%d,"p50":%d,"p90":%d,"p99":%d,"max":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
