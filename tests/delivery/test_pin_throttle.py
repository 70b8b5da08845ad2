"""Wrong PINs under fire: the limits hold when guesses race, and nobody can lock a link for others.

Every guess is a real request through the whole stack in its own thread with its own database
connection (the test database is a file, so SQLite locks for real; PostgreSQL with DATABASE_URL).
"""

from collections import Counter

import pytest
from django.test import Client

from delivery import services
from tests.helpers import at_once

pytestmark = pytest.mark.django_db(transaction=True)
WRONG = [f"{n:04d}" for n in range(100)]  # the gallery's PIN is 2468


def guess(token: str, pin: str, ip: str) -> int:
    client = Client(REMOTE_ADDR=ip, raise_request_exception=False)
    body = {"token": token, "pin": pin}
    return client.post("/api/galleries/unlock/", body, content_type="application/json").status_code


def guesser(token: str, ip: str, pins: list[str]):
    """One attacker's thread: its guesses one after the other."""
    return lambda: [guess(token, pin, ip) for pin in pins]


def test_twenty_threads_from_one_address_get_five_guesses_in_all(token, settings):
    assert settings.DELIVERY_PIN_TRIES_PER_LINK_AND_IP == 5
    threads = [guesser(token, "203.0.113.9", WRONG[5 * t : 5 * t + 5]) for t in range(20)]

    statuses = Counter(status for run in at_once(threads) for status in run)

    assert statuses == {403: 5, 429: 95}  # 403: checked and wrong; 429: refused unchecked
    # The right PIN from that address waits too; from another it opens the gallery.
    assert guess(token, "2468", "203.0.113.9") == 429
    assert guess(token, "2468", "198.51.100.7") == 200


def test_forty_addresses_on_one_link_and_then_the_right_pin_from_a_fresh_one(token, settings):
    assert (settings.DELIVERY_PIN_TRIES_PER_LINK, settings.DELIVERY_PIN_CEILING_PER_LINK) == (
        20,
        100,
    )
    threads = [guesser(token, f"192.0.2.{a}", WRONG[:10]) for a in range(40)]

    runs = at_once(threads)

    checked = [run.count(403) for run in runs]
    assert set(Counter(status for run in runs for status in run)) == {403, 429}
    # The link's 20 for addresses that failed, then one first guess for each address that had
    # none yet: never more than 20 + 40, nor more than 5 from any one address.
    assert 40 <= sum(checked) <= 60
    assert all(1 <= n <= 5 for n in checked)
    # The attack did not lock the link: a fresh address with the right PIN gets in...
    assert guess(token, "2468", "198.51.100.8") == 200
    # ...while the addresses that guessed wait, even with the right PIN.
    assert guess(token, "2468", "192.0.2.7") == 429


def test_the_ceiling_bounds_guesses_from_many_addresses(token, settings, gallery, photographer):
    settings.DELIVERY_PIN_CEILING_PER_LINK = 30
    threads = [guesser(token, f"192.0.2.{a}", WRONG[:3]) for a in range(40)]

    checked = sum(run.count(403) for run in at_once(threads))

    assert checked == 30  # 40 addresses with 3 guesses each, yet 30 guesses in all
    # The price of the bound: once it is spent, every address waits out the window...
    assert guess(token, "2468", "198.51.100.9") == 429
    # ...or the studio sends a new link, which starts afresh (the old one stops working).
    new_token = services.gallery_new_link(gallery=gallery, actor=photographer)
    assert guess(new_token, "2468", "198.51.100.9") == 200


def test_an_ipv6_subscriber_counts_as_one_address(token):
    # One subscriber gets a whole /64: changing the last 64 bits is not a new address.
    statuses = [guess(token, "0000", f"2001:db8:5:6::{n:x}") for n in range(1, 8)]

    assert statuses == [403] * 5 + [429] * 2
    assert guess(token, "2468", "2001:db8:5:7::1") == 200  # another /64
