-- wrk script: every connection signs in as the demo administrator (a bcrypt check each), with the
-- session cookie and CSRF token of one sign-in page fetched beforehand.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = os.getenv("SIGN_IN_COOKIE")
wrk.body = os.getenv("SIGN_IN_BODY")
