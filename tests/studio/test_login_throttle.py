"""Password guessing on the log-in page and the API's Basic auth: throttled per address and per
account, without locking the account's owner out from elsewhere.

Concurrent guesses are real requests, one thread and database connection each.
"""

import base64
from collections import Counter
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from studio.models import Attempt
from studio.tasks import throttle_forget_expired_task
from tests.factories import PASSWORD, UserFactory
from tests.helpers import at_once

ALICE = "alice@example.com"


def log_in(ip: str, password: str, email: str = ALICE):
    client = Client(REMOTE_ADDR=ip)
    return client.post("/login/", {"username": email, "password": password})


def basic(ip: str, password: str, email: str = ALICE):
    """A request to the API with Basic auth: 200 when the password is right."""
    credentials = base64.b64encode(f"{email}:{password}".encode()).decode()
    client = Client(REMOTE_ADDR=ip, raise_request_exception=False)
    return client.get("/api/bookings/", headers={"Authorization": f"Basic {credentials}"})


def code(response) -> str | None:
    return response.json()["error"]["code"] if response.status_code != 200 else None


@pytest.fixture
def alice(db):
    return UserFactory(email=ALICE)


def test_the_login_page_says_when_an_address_must_wait(alice, settings):
    assert settings.LOGIN_TRIES_PER_ACCOUNT == 10
    answered = [log_in("203.0.113.9", f"guess-{n}") for n in range(12)]

    assert [r.status_code for r in answered] == [200] * 10 + [429] * 2
    assert b"Please enter a correct" in answered[9].content
    refused = answered[10]
    assert b"Too many failed log-ins. Please wait 5 minutes" in refused.content
    assert refused["Retry-After"] == "300"
    # Even the right password waits from there; the owner elsewhere logs in at once.
    assert log_in("203.0.113.9", PASSWORD).status_code == 429
    assert log_in("198.51.100.7", PASSWORD).status_code == 302


def test_one_address_trying_many_accounts_is_throttled(db, settings):
    assert settings.LOGIN_TRIES_PER_IP == 20
    emails = [UserFactory().email for _ in range(25)]

    statuses = [log_in("203.0.113.20", "guess", email).status_code for email in emails]

    assert statuses == [200] * 20 + [429] * 5
    assert log_in("198.51.100.20", PASSWORD, emails[-1]).status_code == 302


@pytest.mark.django_db(transaction=True)
def test_racing_basic_auth_guesses_from_one_address_get_ten_checks(alice):
    jobs = [
        lambda t=t: [basic("203.0.113.9", f"guess-{t}-{n}") for n in range(5)] for t in range(20)
    ]

    answers = [response for run in at_once(jobs) for response in run]

    assert Counter(code(r) for r in answers) == {"authentication_failed": 10, "too_many_logins": 90}
    refused = next(r for r in answers if r.status_code == 429)
    assert int(refused["Retry-After"]) in range(290, 301)
    assert "Too many failed log-ins" in refused.json()["error"]["message"]
    assert basic("198.51.100.7", PASSWORD).status_code == 200  # the owner, elsewhere


@pytest.mark.django_db(transaction=True)
def test_guesses_from_many_addresses_do_not_lock_the_owner_out(alice, settings):
    assert settings.LOGIN_CEILING_PER_ACCOUNT == 50
    jobs = [
        lambda a=a: [basic(f"192.0.2.{a}", f"guess-{n}").status_code for n in range(5)]
        for a in range(12)
    ]

    checked = sum(run.count(403) for run in at_once(jobs))

    # Ten for the account, then one first guess for each address that had none yet.
    assert 12 <= checked <= 10 + 12
    assert basic("198.51.100.7", PASSWORD).status_code == 200
    assert basic("192.0.2.3", PASSWORD).status_code == 429  # a guessing address waits


@pytest.mark.django_db(transaction=True)
def test_the_ceiling_bounds_guesses_at_one_account_from_many_addresses(alice, settings):
    settings.LOGIN_CEILING_PER_ACCOUNT = 15
    jobs = [lambda a=a: basic(f"192.0.2.{a}", "guess").status_code for a in range(30)]

    assert Counter(at_once(jobs)) == {403: 15, 429: 15}
    # The price of the bound: until the window passes, the owner waits too.
    assert code(basic("198.51.100.7", PASSWORD)) == "too_many_logins"


def test_right_passwords_are_never_counted(alice):
    for _ in range(30):
        assert log_in("203.0.113.9", PASSWORD).status_code == 302
    assert basic("203.0.113.9", PASSWORD).status_code == 200


def test_the_admin_login_is_throttled_too(db, settings):
    settings.LOGIN_TRIES_PER_IP = 2
    admin = Client(REMOTE_ADDR="203.0.113.30")
    for _ in range(2):
        admin.post("/admin/login/", {"username": "boss@example.com", "password": "guess"})

    refused = admin.post("/admin/login/", {"username": "boss@example.com", "password": "guess"})

    assert b"Too many failed log-ins" in refused.content


def test_tries_out_of_the_window_are_forgotten(alice):
    for n in range(11):
        log_in("203.0.113.9", f"guess-{n}")
    assert log_in("203.0.113.9", PASSWORD).status_code == 429
    Attempt.objects.update(until=timezone.now() - timedelta(seconds=1))

    assert throttle_forget_expired_task.delay().get() == 10 * 3  # per account, address, both
    assert not Attempt.objects.exists()
    assert log_in("203.0.113.9", PASSWORD).status_code == 302
