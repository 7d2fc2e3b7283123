-- wrk script: every request carries the session cookie of a signed-in administrator.
local cookie = os.getenv("BENCH_COOKIE")
wrk.headers["Cookie"] = cookie
