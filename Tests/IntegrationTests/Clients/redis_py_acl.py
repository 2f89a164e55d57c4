"""Connects with redis-py as an ACL user limited to keys `app:*` and prints one JSON object.

The test runs it against a real redis-server and against `shardgate node` and compares the output.
Usage: redis_py_acl.py PORT PROTOCOL   (PROTOCOL: 2 or 3)
"""
import json
import sys

import redis

port = int(sys.argv[1])
protocol = int(sys.argv[2])
admin = redis.Redis(host="127.0.0.1", port=port, socket_timeout=5, decode_responses=True, protocol=protocol)
admin.flushall()
admin.acl_deluser("app")
result = {}
result["setuser"] = admin.acl_setuser("app", enabled=True, passwords=["+app-pass"], keys=["app:*"], commands=["+@all", "-@dangerous"])
user = redis.Redis(host="127.0.0.1", port=port, socket_timeout=5, decode_responses=True, protocol=protocol,
                   username="app", password="app-pass")
result["whoami"] = user.acl_whoami()
result["own"] = (user.set("app:1", "v"), user.get("app:1"), user.incr("app:n"))


def outcome(call):
    try:
        return call()
    except redis.exceptions.ResponseError as error:
        return f"{type(error).__name__}: {error}"
    except redis.exceptions.RedisError as error:
        return type(error).__name__


result["denied_set"] = outcome(lambda: user.set("other", "v"))
result["denied_get"] = outcome(lambda: user.get("other"))
result["denied_flushall"] = outcome(lambda: user.flushall())
result["mget_mixed"] = outcome(lambda: user.mget("app:1", "other"))
pipe = user.pipeline(transaction=True)
pipe.set("app:2", "x")
pipe.get("app:2")
result["transaction"] = outcome(lambda: pipe.execute())
result["wrong_password"] = outcome(lambda: redis.Redis(host="127.0.0.1", port=port, socket_timeout=5, username="app",
                                                       password="nope", protocol=protocol).ping())
getuser = admin.acl_getuser("app")
result["getuser"] = {key: getuser[key] for key in sorted(getuser) if key != "commands"}
result["log"] = [(entry["reason"], entry["object"], entry["username"], entry["context"]) for entry in admin.acl_log()]
admin.acl_deluser("app")
print(json.dumps(result, sort_keys=True, default=str))
