"""redis-py transactions through the proxy: pipeline(transaction=True) applies exactly once, and a
transaction whose keys span groups raises and leaves no trace.  Usage: redis_py_transactions.py PORT"""
import hashlib
import sys
import threading

import redis

client = redis.Redis(port=int(sys.argv[1]), socket_timeout=10)
client.set("{bank}a", 50)
client.set("{bank}b", 50)
for _ in range(30):
    # Move 1 from a to b, then back: the balances end where they began, if each runs exactly once.
    for source, target in (("{bank}a", "{bank}b"), ("{bank}b", "{bank}a")):
        pipe = client.pipeline(transaction=True)
        pipe.decrby(source, 1)
        pipe.incrby(target, 1)
        assert len(pipe.execute()) == 2
print("balances", int(client.get("{bank}a")), int(client.get("{bank}b")))

aborted = 0
for index in range(20):
    # Names that differ from their first byte on, so pairs spread over both groups.
    first, second = (hashlib.md5(f"{index}:{side}".encode()).hexdigest() for side in "xy")
    pipe = client.pipeline(transaction=True)
    pipe.set(first, "1")
    pipe.set(second, "1")
    try:
        pipe.execute()
        assert client.exists(first, second) == 2, "a committed transaction is whole"
    except redis.exceptions.ResponseError as error:
        assert isinstance(error, redis.exceptions.ClusterCrossSlotError), repr(error)
        assert client.exists(first, second) == 0, "an aborted transaction leaves no trace"
        aborted += 1
assert aborted > 0, "some pairs span both groups"
print("crossslot ok", aborted)

# redis-py's check-and-set helper (WATCH, reads, MULTI, writes, EXEC, retry on WatchError), from
# several threads at once: the total of the two balances never changes.
client.set("{cas}a", 1000)
client.set("{cas}b", 1000)
errors = []


def transfer(worker):
    local = redis.Redis(port=int(sys.argv[1]), socket_timeout=10)

    def move(pipe):
        a, b = int(pipe.get("{cas}a")), int(pipe.get("{cas}b"))
        step = 1 if worker % 2 == 0 else -1
        pipe.multi()
        pipe.set("{cas}a", a - step)
        pipe.set("{cas}b", b + step)

    try:
        for _ in range(100):
            local.transaction(move, "{cas}a", "{cas}b")
    except Exception as error:  # reported below
        errors.append(repr(error))


threads = [threading.Thread(target=transfer, args=(worker,)) for worker in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join(60)
assert not errors, errors
print("cas total", int(client.get("{cas}a")) + int(client.get("{cas}b")))
