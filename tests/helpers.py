import time


def wait_for(condition, *, timeout: float, what: str) -> None:
    """Poll `condition` until it holds; fail naming `what` did not happen in time."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout} s"
        time.sleep(0.05)
