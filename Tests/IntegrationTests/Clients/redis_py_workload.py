"""Drives a Shardgate proxy with redis-py the way an application would; prints one JSON object.

Usage: redis_py_workload.py PORT PROTOCOL [PASSWORD]   (PROTOCOL: 2, 3, or default)
"""
import json
import sys

import redis

port = int(sys.argv[1])
protocol = {"2": 2, "3": 3}.get(sys.argv[2])
password = sys.argv[3] if len(sys.argv) > 3 else None
options = {"protocol": protocol} if protocol else {}
client = redis.Redis(host="127.0.0.1", port=port, password=password, socket_timeout=5, decode_responses=True, **options)
result = {"version": redis.__version__, "protocol": client.connection_pool.connection_kwargs.get("protocol")}
result["ping"] = client.ping()
result["set"] = client.set("py:greeting", "hello")
result["get"] = client.get("py:greeting")
result["mset"] = client.mset({f"py:k{i}": str(i) for i in range(50)})
result["mget"] = client.mget([f"py:k{i}" for i in range(50)] + ["py:missing"])
result["exists"] = client.exists("py:k1", "py:k2", "py:missing", "py:k1")
result["incr"] = [client.incr("py:counter") for _ in range(3)]
result["hash"] = (client.hset("py:h", mapping={"a": "1", "b": "2"}), client.hgetall("py:h"))
result["zscore"] = (client.zadd("py:z", {"m": 1.5}), client.zscore("py:z", "m"))
pipe = client.pipeline(transaction=False)
for i in range(100):
    pipe.set(f"py:p{i}", i)
    pipe.get(f"py:p{i}")
replies = pipe.execute()
result["pipeline_ok"] = all(replies[2 * i] is True and replies[2 * i + 1] == str(i) for i in range(100))
result["delete"] = client.delete(*[f"py:k{i}" for i in range(50)], "py:missing")
result["client_name"] = (client.client_setname("py-worker"), client.client_getname())
try:
    client.keys("*")
    result["keys_error"] = None
except redis.ResponseError as error:
    result["keys_error"] = str(error)
result["still_works"] = client.get("py:greeting")
info = client.info()
result["info_has_version"] = "redis_version" in info
print(json.dumps(result))
