-- wrk: POST /v1/batch with N events (env BATCH, default 100), each with a
-- unique messageId (thread id + counter), Basic auth from env KEY.
-- tid is set per thread by setup() (thread:set): it must stay a global here,
-- or every thread would send the same ids
counter = 0
tid = 0
local threads = {}
local run = os.getenv("RUN") or tostring(os.time())
local n = tonumber(os.getenv("BATCH") or "100")
local path = os.getenv("PATH_") or "/v1/batch"
local key = os.getenv("KEY") or ""

local function b64(s)
  local chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  return ((s:gsub(".", function(x)
    local r, b = "", x:byte()
    for i = 8, 1, -1 do r = r .. (b % 2 ^ i - b % 2 ^ (i - 1) > 0 and "1" or "0") end
    return r
  end) .. "0000"):gsub("%d%d%d?%d?%d?%d?", function(x)
    if #x < 6 then return "" end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == "1" and 2 ^ (6 - i) or 0) end
    return chars:sub(c + 1, c + 1)
  end) .. ({ "", "==", "=" })[#s % 3 + 1])
end

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  wrk.method = "POST"
  wrk.headers["Authorization"] = "Basic " .. b64(key .. ":")
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local parts = {}
  for i = 1, n do
    counter = counter + 1
    local id = run .. "-" .. tid .. "-" .. counter
    parts[i] = '{"type":"track","userId":"u' .. (counter % 5000) .. '","event":"report.create","messageId":"b' ..
      id .. '","timestamp":"2026-11-20T10:00:00Z","context":{"groupId":"acct' .. (counter % 200) .. '"}}'
  end
  local body
  if n == 1 and path == "/v1/track" then
    body = parts[1]
  else
    body = '{"batch":[' .. table.concat(parts, ",") .. ']}'
  end
  return wrk.format(nil, path, nil, body)
end
