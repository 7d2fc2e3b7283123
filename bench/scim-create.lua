-- wrk script: every request creates a new user through SCIM (bearer SCIM_TOKEN), with a
-- userName and address no other request of the run uses.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_no", threads)
end

local made = 0
local letters = "abcdefghijklmnopqrstuvwxyz"
-- A family name of its own, so new users spread through the name order as real people do.
local function family_name()
  local n = {}
  for i = 1, 8 do
    local k = math.random(1, 26)
    n[i] = letters:sub(k, k)
  end
  return string.upper(n[1]) .. table.concat(n, "", 2)
end

function request()
  made = made + 1
  local who = string.format("load-%d-%d-%d", os.time(), thread_no, made)
  local body = string.format(
    '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"%s@bench.example",' ..
    '"externalId":"%s","name":{"givenName":"Pat","familyName":"%s"},' ..
    '"emails":[{"value":"%s@bench.example","type":"work","primary":true}],"active":true}',
    who, who, family_name(), who)
  return wrk.format("POST", nil, {
    ["Authorization"] = "Bearer " .. os.getenv("SCIM_TOKEN"),
    ["Content-Type"] = "application/scim+json",
  }, body)
end
