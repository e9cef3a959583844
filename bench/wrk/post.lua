-- POST BODY (form-encoded) with HTTP Basic credentials BASIC (base64 of id:secret).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. os.getenv("BASIC")
wrk.body = os.getenv("BODY")
