import socket
import threading
import time
from contextlib import contextmanager


def wait_for(condition, *, timeout: float, what: str) -> None:
    """Poll `condition` until it holds; fail naming `what` did not happen in time."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout} s"
        time.sleep(0.05)


def queries_to_get(client, url: str) -> int:
    """How many queries a GET of `url` makes, once a first GET has done any one-off work."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(queries)


def free_port() -> int:
    """A loopback port nobody listens on (until someone binds it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def broker_down():
    """Point Celery at a port nobody listens on, as when the broker is down: queueing a task
    (`.delay`) fails as it does in production, and nothing runs in-process."""
    from studio.celery import app

    port = free_port()  # closed again before it is used
    previous = app.conf.broker_url, app.conf.task_always_eager
    app.conf.update(broker_url=f"redis://127.0.0.1:{port}/0", task_always_eager=False)
    app._after_fork()  # drop connection pools made for the previous broker setting
    try:
        yield
    finally:
        app.conf.update(broker_url=previous[0], task_always_eager=previous[1])
        app._after_fork()


def at_once(jobs: list) -> list:
    """Run each job (a function of no arguments) in its own thread with its own database
    connection, all starting together; return their results in order. A job's exception is
    raised here, once all are done."""
    from django.db import connection

    barrier = threading.Barrier(len(jobs))
    results, errors = [None] * len(jobs), []

    def run(index, job):
        try:
            barrier.wait()
            results[index] = job()
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results
