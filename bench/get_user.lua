-- wrk script: GET /users/{id}, each id picked at random from the file named after `--`.
-- LuaJIT's generator is not seeded, so every run asks for the same sequence of ids.
local ids = {}

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then
      ids[#ids + 1] = line
    end
  end
  if #ids == 0 then
    error("no ids in " .. args[1])
  end
end

function request()
  return wrk.format("GET", "/users/" .. ids[math.random(#ids)])
end
