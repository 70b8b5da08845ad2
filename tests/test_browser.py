"""Book a session in a real browser: home → slots (in the viewer's zone) → log in or sign up →
details → confirmation.

Drives Debian's Chromium through Playwright's sync API against pytest-django's live server.
"""

import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect, sync_playwright

from booking.models import Booking
from studio.models import User
from tests import factories
from tests.conftest import ON_CI

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TIMEOUT_MS = 15_000
# The viewer is in New York, the studio in Berlin: the page must switch to the viewer's zone.
BROWSER_ZONE = "America/New_York"
STUDIO_ZONE = "Europe/Berlin"


@pytest.fixture(scope="module", autouse=True)
def _allow_db_beside_playwright():
    # Playwright's sync API keeps an asyncio loop on this thread, so Django would refuse the
    # test's own database calls (factories, assertions, the flush between tests).
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="module")
def browser(_allow_db_beside_playwright):
    if not Path(CHROMIUM).exists():
        reason = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if ON_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(timezone_id=BROWSER_ZONE, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


@pytest.fixture
def session_type(live_server):
    studio = factories.StudioFactory(time_zone=STUDIO_ZONE)
    factories.working_week(factories.PhotographerFactory(studio=studio))
    # An hour's notice: the first offered time is never about to pass while the test clicks.
    return factories.SessionTypeFactory(
        studio=studio, name="Family portrait", min_notice_minutes=60
    )


def open_slots_in_browser_zone(page, live_server, session_type):
    """Go from the home page to the session type's times and wait for the viewer's zone."""
    page.goto(live_server.url + "/")
    card = page.locator("article.card", has_text=session_type.name)
    card.get_by_role("link", name="Choose a time").click()
    # The page first guesses the studio's zone, then its script reloads once with ?tz=.
    expect(page).to_have_url(re.compile(r"[?&]tz=America(%2F|/)New_York"))
    expect(page.locator("#zone-name")).to_have_text(BROWSER_ZONE)
    expect(page.locator(".slots form button").first).to_be_visible()


def book_first_slot(page, notes: str = "") -> datetime:
    """Pick the first offered time, add notes and confirm; return the time picked."""
    button = page.locator(".slots form button").first
    start = datetime.fromisoformat(button.get_attribute("data-start"))
    # The button shows the viewer's wall-clock time, not the studio's.
    assert button.inner_text() == start.astimezone(ZoneInfo(BROWSER_ZONE)).strftime("%H:%M")
    button.click()
    expect(page.get_by_role("heading", name=re.compile(r"^Almost done"))).to_be_visible()
    if notes:
        page.get_by_label("Anything the photographer should know?").fill(notes)
    page.get_by_role("button", name="Confirm booking").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Booking confirmed"))).to_be_visible()
    expect(page.locator("#booking-status")).to_have_text("Confirmed")
    return start


def assert_one_confirmed_booking(client: User, start: datetime, *, notes: str = "") -> None:
    booking = Booking.objects.get()
    assert booking.client == client
    assert booking.start == start
    assert booking.status == Booking.Status.CONFIRMED
    assert booking.notes == notes
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [client.email]
    invites = [a for a in message.attachments if a.filename.endswith(".ics")]
    assert len(invites) == 1
    assert invites[0].mimetype.startswith("text/calendar")
    assert f"UID:booking-{booking.pk}@" in invites[0].content  # text/* arrives decoded


def test_client_logs_in_and_books_from_the_home_page(page, live_server, session_type):
    client = factories.UserFactory(email="ada@example.com")
    open_slots_in_browser_zone(page, live_server, session_type)
    slots_url = page.url

    page.get_by_role("link", name="Log in").click()
    page.get_by_label("E-mail").fill(client.email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url(slots_url)
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    expect(page.locator("#zone-name")).to_have_text(BROWSER_ZONE)
    start = book_first_slot(page, notes="Two kids and a dog.")

    assert_one_confirmed_booking(client, start, notes="Two kids and a dog.")


def test_new_client_signs_up_and_books(page, live_server, session_type):
    open_slots_in_browser_zone(page, live_server, session_type)
    slots_url = page.url

    page.get_by_role("link", name="Sign up").click()
    page.get_by_label("Your name").fill("Grace Hopper")
    page.get_by_label("E-mail").fill("grace@example.com")
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign up").click()

    expect(page).to_have_url(slots_url)
    start = book_first_slot(page)

    client = User.objects.get(email="grace@example.com")
    assert client.full_name == "Grace Hopper"
    assert client.time_zone == BROWSER_ZONE  # taken from the browser on the sign-up form
    assert_one_confirmed_booking(client, start)


def test_client_pays_the_deposit_in_test_mode(page, live_server, session_type):
    session_type.price_minor, session_type.deposit_minor = 20000, 5000
    session_type.save()
    client = factories.UserFactory(email="lin@example.com")
    page.goto(live_server.url + "/login/")
    page.get_by_label("E-mail").fill(client.email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Log in").click()
    open_slots_in_browser_zone(page, live_server, session_type)

    page.locator(".slots form button").first.click()
    page.get_by_role("button", name="Continue to payment").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Pay the deposit"))).to_be_visible()
    expect(page.get_by_role("note")).to_contain_text("Test mode — no real money.")
    page.get_by_role("button", name="Pay (fails)").click()
    expect(page.get_by_text("The test payment failed (as asked).")).to_be_visible()
    assert Booking.objects.get().status == Booking.Status.HELD

    page.get_by_role("button", name="Pay (succeeds)").click()

    expect(page.locator("#booking-status")).to_have_text("Confirmed")
    expect(page.get_by_text("still to pay: 150.00 EUR")).to_be_visible()
    page.get_by_role("link", name="Receipt").click()
    expect(page.locator("#receipt-amount")).to_have_text("50.00 EUR")
    booking = Booking.objects.get()
    assert booking.status == Booking.Status.CONFIRMED
    assert [p.status for p in booking.payments.all()] == ["succeeded"]


def test_photographer_culls_with_the_keyboard(page, live_server, settings, tmp_path):
    from ai_assist import services as ai_services
    from ai_assist.models import PhotoCull
    from delivery import services as delivery
    from tests.ai_assist import photos

    settings.MEDIA_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    }
    booking = factories.BookingFactory()
    photographer = booking.photographer
    gallery, _ = delivery.gallery_create(booking=booking, actor=photographer)
    for minute, name in enumerate(["IMG_0001.jpg", "IMG_0002.jpg"]):
        data = photos.jpeg(photos.astronaut(), taken_at=datetime(2026, 11, 20, 14, minute * 10))
        upload = SimpleUploadedFile(name, data, content_type="image/jpeg")
        delivery.photo_upload(gallery=gallery, actor=photographer, file=upload)
    ai_services.cull_start(gallery=gallery, actor=photographer)
    page.goto(live_server.url + "/login/")
    page.get_by_label("E-mail").fill(photographer.email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.goto(f"{live_server.url}/galleries/{gallery.pk}/cull/")
    expect(page.locator("#progress-text")).to_contain_text("2 done, 0 failed, of 2")
    cards = page.locator(".cull[data-decide]")
    expect(cards).to_have_count(2)
    cards.first.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("r")

    expect(cards.nth(1).locator(".badge")).to_have_text("reject")
    expect(cards.nth(1).get_by_role("button", name="Reject")).to_have_attribute(
        "aria-pressed", "true"
    )
    second = PhotoCull.objects.get(photo__original_name="IMG_0002.jpg")
    assert (second.decision, second.override) == ("keep", "reject")
