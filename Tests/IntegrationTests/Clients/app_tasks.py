"""The jobs and tasks the app tests run: an rq job function and a celery app whose broker and result
backend are the URL in SHARDGATE_APP_URL."""
import os


def add(a, b):
    return a + b


def celery_app():
    from celery import Celery

    url = os.environ["SHARDGATE_APP_URL"]
    app = Celery("app_tasks", broker=url, backend=url)
    app.conf.broker_connection_retry_on_startup = True
    app.task(name="app_tasks.add")(add)
    return app


if os.environ.get("SHARDGATE_APP_URL"):
    app = celery_app()
