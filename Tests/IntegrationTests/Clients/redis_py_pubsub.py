"""redis-py pub/sub through the proxy: channels and a pattern across groups, in RESP2 or RESP3.
Usage: redis_py_pubsub.py PORT PROTOCOL; prints 'received N' when every message arrived in order."""
import sys
import time

import redis

port, protocol = int(sys.argv[1]), int(sys.argv[2])
subscriber = redis.Redis(port=port, protocol=protocol, socket_timeout=10)
publisher = redis.Redis(port=port, protocol=protocol, socket_timeout=10)
channels = [f"{index * 2654435761 % 2**32:x}:orders" for index in range(8)]

pubsub = subscriber.pubsub()
pubsub.subscribe(*channels)
pubsub.psubscribe("*:orders")
confirmations = 0
deadline = time.time() + 10
while confirmations < len(channels) + 1 and time.time() < deadline:
    message = pubsub.get_message(timeout=1)
    if message and message["type"] in ("subscribe", "psubscribe"):
        confirmations += 1
assert confirmations == len(channels) + 1, confirmations

expected = []
for round_ in range(5):
    for channel in channels:
        publisher.publish(channel, f"{round_}")
        expected += [("message", channel, f"{round_}"), ("pmessage", channel, f"{round_}")]

received = []
deadline = time.time() + 10
while len(received) < len(expected) and time.time() < deadline:
    message = pubsub.get_message(timeout=1)
    if message:
        received.append((message["type"], message["channel"].decode(), message["data"].decode()))
# Per channel, messages keep their order; a message and its pattern copy may interleave.
for channel in channels:
    mine = [item for item in received if item[1] == channel]
    assert [item for item in mine if item[0] == "message"] == [item for item in expected if item[1] == channel and item[0] == "message"], mine
assert sorted(received) == sorted(expected), (len(received), len(expected))
pubsub.close()
print("received", len(received))
