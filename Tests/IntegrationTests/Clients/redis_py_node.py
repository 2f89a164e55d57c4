"""Drives a data node (or redis-server) with redis-py like an application; prints one JSON object.

The test runs it against a real redis-server and against `shardgate node` and compares the output.
Usage: redis_py_node.py PORT PROTOCOL   (PROTOCOL: 2 or 3)
"""
import json
import sys
import time

import redis

port = int(sys.argv[1])
protocol = int(sys.argv[2])
client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=5, decode_responses=True, protocol=protocol)
client.flushall()
result = {}
result["ping"] = client.ping()
result["set"] = (client.set("s", "hello"), client.set("s", "x", nx=True), client.set("s", "world", xx=True, get=True))
result["get"] = (client.get("s"), client.get("missing"))
result["ex"] = (client.set("t", "v", ex=100), client.ttl("t"), client.persist("t"), client.ttl("t"))
result["mset"] = (client.mset({f"k{i}": str(i) for i in range(20)}), client.mget([f"k{i}" for i in range(20)] + ["nope"]))
result["counters"] = (client.incr("c"), client.incrby("c", 10), client.decr("c"), client.incrbyfloat("f", 2.5))
result["strings"] = (client.append("s", "!"), client.strlen("s"), client.getrange("s", 0, 2), client.setrange("s", 1, "AB"), client.get("s"))
result["hash"] = (client.hset("h", mapping={"a": "1", "b": "2", "c": "3"}), client.hgetall("h"), client.hincrby("h", "a", 5),
                  client.hdel("h", "b"), sorted(client.hkeys("h")), client.hlen("h"), client.hexists("h", "c"))
result["list"] = (client.rpush("l", *"abcde"), client.lpush("l", "z"), client.lrange("l", 0, -1), client.lpop("l"),
                  client.rpop("l", 2), client.lindex("l", 1), client.llen("l"), client.lrem("l", 0, "b"), client.lrange("l", 0, -1))
result["set_type"] = (client.sadd("st", "a", "b", "c", "1"), sorted(client.smembers("st")), client.sismember("st", "a"),
                      client.srem("st", "a"), client.scard("st"), sorted(client.sinter("st", "st")))
result["zset"] = (client.zadd("z", {"a": 1, "b": 2.5, "c": -1}), client.zrange("z", 0, -1, withscores=True),
                  client.zscore("z", "b"), client.zincrby("z", 2, "a"), client.zrank("z", "a"),
                  client.zrangebyscore("z", 0, 10), client.zpopmin("z"), client.zcard("z"))
result["keys"] = (sorted(client.keys("k1*")), client.exists("k1", "k2", "nope"), client.type("h"), client.type("z"),
                  client.delete("k1", "k2", "nope"), client.rename("k3", "k3b"), client.dbsize())
scanned = set()
cursor = 0
while True:
    cursor, batch = client.scan(cursor, match="k*", count=5)
    scanned.update(batch)
    if cursor == 0:
        break
result["scan"] = sorted(scanned)
pipe = client.pipeline(transaction=True)
pipe.set("tx", "1").incr("tx").get("tx")
result["multi"] = pipe.execute()
pipe = client.pipeline(transaction=False)
for i in range(100):
    pipe.set(f"p{i}", i)
    pipe.get(f"p{i}")
replies = pipe.execute()
result["pipeline_ok"] = all(replies[2 * i] is True and replies[2 * i + 1] == str(i) for i in range(100))
try:
    client.lpush("s", "x")
    result["wrongtype"] = None
except redis.ResponseError as error:
    result["wrongtype"] = str(error)
pubsub = client.pubsub()
pubsub.subscribe("news")
first = pubsub.get_message(timeout=2)
published = client.publish("news", "hello")
message = None
deadline = time.time() + 3
while message is None and time.time() < deadline:
    message = pubsub.get_message(timeout=1)
result["pubsub"] = (first and first["type"], published, message and (message["type"], message["channel"], message["data"]))
pubsub.close()
result["select"] = (client.execute_command("SELECT", 0), client.client_setname("py-node"), client.client_getname())
info = client.info()
result["info"] = ("redis_version" in info, "connected_clients" in info, info.get("role"))
print(json.dumps(result, sort_keys=True))
