"""Real job-queue apps through a Shardgate proxy: an rq worker or a celery worker runs jobs enqueued
through the proxy, and their results are read back through it.
Usage: apps_through_proxy.py rq|celery PORT; prints 'results ...' and exits 0 when every job ran."""
import os
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
app_name, port = sys.argv[1], int(sys.argv[2])
os.environ["SHARDGATE_APP_URL"] = f"redis://127.0.0.1:{port}/0"
environment = dict(os.environ, PYTHONPATH=here)


def stop(worker):
    if worker.poll() is None:
        worker.terminate()
    try:
        output, _ = worker.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
        output, _ = worker.communicate()
    return output.decode(errors="replace")


if app_name == "rq":
    from redis import Redis
    from rq import Queue

    import app_tasks

    worker = subprocess.Popen(
        [sys.executable, "-m", "rq.cli", "worker", "--url", environment["SHARDGATE_APP_URL"], "--max-jobs", "3"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=environment, cwd=here)
    try:
        time.sleep(1)  # the worker blocks on its queue before the jobs arrive
        queue = Queue(connection=Redis(port=port))
        jobs = [queue.enqueue(app_tasks.add, index, 10) for index in range(3)]
        deadline = time.time() + 30
        while time.time() < deadline and not all(job.get_status(refresh=True).value == "finished" for job in jobs):
            time.sleep(0.1)
        results = [job.return_value() for job in jobs]
    finally:
        output = stop(worker)
elif app_name == "celery":
    import app_tasks

    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "app_tasks", "worker", "--pool=solo", "--loglevel=INFO",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=environment, cwd=here)
    try:
        add = app_tasks.celery_app().tasks["app_tasks.add"]
        pending = [add.delay(index, 10) for index in range(3)]
        results = [result.get(timeout=30) for result in pending]
    finally:
        output = stop(worker)
else:
    sys.exit(f"unknown app {app_name}")

print(output[-3000:])
print("results", results)
assert results == [10, 11, 12], results
