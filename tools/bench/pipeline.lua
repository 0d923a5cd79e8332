-- 16 requests for the URL's path written back to back; wrk counts each response and sends
-- the next 16 only when all of them have come back (a pipeline 16 deep per connection).
local depth = 16

init = function(args)
  local r = {}
  for i = 1, depth do
    r[i] = wrk.format(nil, nil)
  end
  batch = table.concat(r)
end

request = function()
  return batch
end
