"""Lua shared by our Redis scripts (plain text, nothing imported).

`bulk(cmd, key, t)`: one variadic call for a whole list, in slices of 4000 values; the replies of the slices
concatenated (HMGET, ZMSCORE), or summed when they are counts (HDEL, ZREM). Lua's `unpack` fails near 8000
values ("too many results to unpack"), and a call per item would be billed per item (Upstash bills each
command a script runs: https://upstash.com/docs/redis/sdks/ratelimit-ts/costs).
4000 keeps (field, value) and (score, member) pairs together.
"""

BULK = """
local function bulk(cmd, key, t)
  local out, n, sum = {}, 0, nil
  for s = 1, #t, 4000 do
    local r = redis.call(cmd, key, unpack(t, s, math.min(s + 3999, #t)))
    if type(r) == 'table' then
      for j = 1, #r do n = n + 1; out[n] = r[j] end
    elseif type(r) == 'number' then
      sum = (sum or 0) + r
    end
  end
  return sum or out
end
"""
