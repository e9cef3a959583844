-- Refresh grants at /token with Basic credentials BASIC. One connection per thread, each
-- with its own refresh-token chain (tokens rotate): thread N starts from line N of the
-- file TOKENS and carries on with each answer's refresh_token.
local tokens = {}
for line in io.lines(os.getenv("TOKENS")) do tokens[#tokens + 1] = line end
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("token", tokens[counter])
end
function request()
  return wrk.format("POST", "/token", {["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = "Basic " .. os.getenv("BASIC")}, "grant_type=refresh_token&refresh_token=" .. token)
end
function response(status, headers, body)
  local next = body:match('"refresh_token":"([^"]+)"')
  if next then token = next end
end
