-- POST of a 16 KiB body to the URL's path (the echo endpoint sends it back).
wrk.method = "POST"
wrk.body = string.rep("x", 16 * 1024)
wrk.headers["Content-Type"] = "application/octet-stream"
