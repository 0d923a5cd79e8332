"""The load profiles of issue 6 (all through wrk, one thread on the load generator's CPU)."""
import collections

Profile = collections.namedtuple("Profile", "name path connections script buffers")
# buffers: whether the admin service's buffer figures are read during the run.

PIPELINED_64 = Profile("pipelined-64", "/pipeline", 64, "pipeline.lua", True)
UPLOAD_64 = Profile("upload-64", "/echo", 64, "upload.lua", True)
ALL = [
    PIPELINED_64,
    Profile("pipelined-512", "/pipeline", 512, "pipeline.lua", True),
    Profile("keepalive-64", "/plaintext", 64, None, False),
    UPLOAD_64,
    Profile("churn-64", "/plaintext", 64, "churn.lua", False),
]
