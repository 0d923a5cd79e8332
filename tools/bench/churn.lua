-- One request in ten asks the server to close the connection ("Connection: close"); wrk then
-- opens a new one, so the load is a new connection every 10 requests. The count is per wrk
-- thread, shared by that thread's connections: every connection still sees one close per
-- ten requests on average, which is the rate this profile is about.
local every = 10
local sent = 0

-- Built in init: wrk adds the Host header to wrk.headers just before calling it.
init = function(args)
  keep = wrk.format(nil, nil)
  local headers = { ["Connection"] = "close" }
  for name, value in pairs(wrk.headers) do
    headers[name] = value
  end
  close = wrk.format(nil, nil, headers)
end

request = function()
  sent = sent + 1
  if sent % every == 0 then
    return close
  end
  return keep
end
