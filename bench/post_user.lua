-- wrk script: POST /users with a new email on every request,
-- <prefix>-<thread>-<counter>@example.com, the prefix given after `--`.
local next_thread = 1

function setup(thread)
  thread:set("thread_number", next_thread)
  next_thread = next_thread + 1
end

local prefix = "bench"
local counter = 0

function init(args)
  if args[1] then
    prefix = args[1]
  end
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"email":"%s-%d-%d@example.com","password":"bench-password-%d"}',
    prefix, thread_number, counter, counter
  )
  return wrk.format("POST", "/users", nil, body)
end
