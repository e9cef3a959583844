-- GET, with the Authorization header AUTH when it is set.
local auth = os.getenv("AUTH")
if auth and auth ~= "" then wrk.headers["Authorization"] = auth end
