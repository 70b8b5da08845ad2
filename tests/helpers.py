import time


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
