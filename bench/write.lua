-- wrk script: every request saves the signed-in administrator's own profile (one write each).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = os.getenv("BENCH_COOKIE")
wrk.body = os.getenv("WRITE_BODY")
