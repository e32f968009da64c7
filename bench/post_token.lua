-- wrk script: POST /auth/token, the OAuth2 password grant as a form, always as the same user:
-- its email and password are given after `--`. A successful login answers 200.
local function encode(text)
  return (text:gsub("[^%w%-%._~]", function(c)
    return string.format("%%%02X", string.byte(c))
  end))
end

local body

function init(args)
  if not args[1] or not args[2] then
    error("usage: -- <email> <password>")
  end
  body = "grant_type=password&username=" .. encode(args[1]) .. "&password=" .. encode(args[2])
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

function request()
  return wrk.format("POST", "/auth/token", nil, body)
end
