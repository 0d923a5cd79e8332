"""The load profiles: issue 6's (wrk, one thread on the load generator's CPU; gcannon instead
where it is given and the profile has a gcannon form, since wrk saturates first there), and
HttpArena's, which compare ringside with the peers (issue 16; gcannon only)."""
import collections

# script: wrk's Lua script (None: plain GETs); buffers: whether the admin service's buffer
# figures are read during the run; gcannon: (connections' requests in flight, requests per
# connection, 0 for keep-alive) when gcannon can produce the same load, else None.
Profile = collections.namedtuple("Profile", "name path connections script buffers gcannon")
Gcannon = collections.namedtuple("Gcannon", "depth requests_per_connection")

PIPELINED_64 = Profile("pipelined-64", "/pipeline", 64, "pipeline.lua", True, Gcannon(16, 0))
UPLOAD_64 = Profile("upload-64", "/echo", 64, "upload.lua", True, None)
ALL = [
    PIPELINED_64,
    Profile("pipelined-512", "/pipeline", 512, "pipeline.lua", True, Gcannon(16, 0)),
    Profile("keepalive-64", "/plaintext", 64, None, False, Gcannon(1, 0)),
    UPLOAD_64,
    # churn.lua closes every tenth request: gcannon opens a new connection every 10.
    Profile("churn-64", "/plaintext", 64, "churn.lua", False, Gcannon(1, 10)),
]

# HttpArena's profiles, as peers.sh runs them: what every peer serves.
PEERS = [
    Profile("pipelined-16-c64", "/pipeline", 64, None, False, Gcannon(16, 0)),
    Profile("pipelined-16-c512", "/pipeline", 512, None, False, Gcannon(16, 0)),
    Profile("keepalive-c64", "/baseline11?a=1&b=1", 64, None, False, Gcannon(1, 0)),
    # A new connection for every request (the client resets it after the response).
    Profile("churn-c64", "/baseline11?a=1&b=1", 64, None, False, Gcannon(1, 1)),
]
