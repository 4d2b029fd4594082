-- wrk: GET the API's portfolio call with a read token (env TOKEN).
function init(args)
  wrk.headers["Authorization"] = "Bearer " .. (os.getenv("TOKEN") or "")
end
