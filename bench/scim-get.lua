-- wrk script: every request carries an API token (SCIM_TOKEN) as a bearer.
wrk.headers["Authorization"] = "Bearer " .. os.getenv("SCIM_TOKEN")
