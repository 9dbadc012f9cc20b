-- wrk script of benchmarks/run.py: every request is a random line of a file of paths.
--
--   WRK_PATHS=paths.txt WRK_SEED=1 wrk -t2 -c16 -d10s --latency -s benchmarks/wrk_paths.lua URL
--
-- A line is "<path>" or "<path>\t<etag>"; with an ETag, the request sends If-None-Match.
-- Each thread draws from its own generator, seeded with WRK_SEED and the thread's number, so
-- a run's request sequence is reproducible. Every request also names a simulated shopper in
-- X-Forwarded-For (one of WRK_CLIENTS addresses), as a reverse proxy would: the API's
-- throttles then count per shopper, as in production, not one history for all of wrk.
-- All requests send "Host: localhost", so that links and ETags match those fetched beforehand.

local thread_count = 0

function setup(thread)
  thread:set("thread_number", thread_count)
  thread_count = thread_count + 1
end

local paths = {}
local etags = {}
local clients = 4096

function init(args)
  local file = assert(io.open(assert(os.getenv("WRK_PATHS"), "set WRK_PATHS"), "r"))
  for line in file:lines() do
    local path, etag = line:match("^([^\t]+)\t(.+)$")
    if path then
      paths[#paths + 1] = path
      etags[#paths] = etag
    elseif #line > 0 then
      paths[#paths + 1] = line
    end
  end
  file:close()
  assert(#paths > 0, "no paths in WRK_PATHS")
  clients = tonumber(os.getenv("WRK_CLIENTS") or "4096")
  local seed = tonumber(os.getenv("WRK_SEED") or "1")
  math.randomseed(seed * 1000 + (tonumber(thread_number) or 0))
  wrk.headers["Host"] = "localhost"
  wrk.headers["Accept"] = "application/json"
end

function request()
  local index = math.random(#paths)
  local client = math.random(clients) - 1
  local headers = {
    ["X-Forwarded-For"] = string.format("10.%d.%d.%d", math.floor(client / 65536) % 256,
      math.floor(client / 256) % 256, client % 256),
  }
  if etags[index] then
    headers["If-None-Match"] = etags[index]
  end
  return wrk.format("GET", paths[index], headers)
end
