"""A client opens a gallery by its link and PIN, marks favourites and downloads a photo.

Drives Debian's Chromium through Playwright's sync API against pytest-django's live server.
"""

import io
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from delivery import images, services
from delivery.models import Favourite
from tests import factories
from tests.conftest import ON_CI
from tests.delivery import corpus
from tests.delivery.conftest import upload

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TIMEOUT_MS = 15_000


@pytest.fixture(scope="module", autouse=True)
def _allow_db_beside_playwright():
    # Playwright's sync API keeps an asyncio loop on this thread; Django would refuse the test's
    # own database calls otherwise.
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
    context = browser.new_context(accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


@pytest.fixture
def delivered(live_server):
    studio = factories.StudioFactory(name="Lumen Studio")
    photographer = factories.PhotographerFactory(studio=studio)
    booking = factories.BookingFactory(
        session_type=factories.SessionTypeFactory(studio=studio), photographer=photographer
    )
    gallery, token = services.gallery_create(
        booking=booking, actor=photographer, title="Family portraits", pin="482913"
    )
    uploaded = [  # committed for real here, so renditions run on commit
        services.photo_upload(
            gallery=gallery, actor=photographer, file=upload(f"IMG_{n}.jpg", corpus.jpeg(seed=n))
        ).pk
        for n in range(3)
    ]
    services.photos_publish(gallery=gallery, actor=photographer, photo_ids=uploaded)
    return gallery, token


def test_client_opens_gallery_by_link_and_pin_marks_favourites_and_downloads(
    page, live_server, delivered
):
    gallery, token = delivered
    page.goto(f"{live_server.url}/g/{token}/")
    page.get_by_label("PIN").fill("111111")
    page.get_by_role("button", name="Open the gallery").click()
    expect(page.get_by_role("alert")).to_have_text("That PIN is not right.")

    page.get_by_label("PIN").fill("482913")
    page.get_by_role("button", name="Open the gallery").click()
    expect(page.get_by_role("heading", name="Family portraits")).to_be_visible()
    expect(page.locator(".photo img")).to_have_count(3)

    for name in ("IMG_0.jpg", "IMG_2.jpg"):
        heart = page.get_by_role("button", name=f"Favourite {name}")
        heart.click()
        expect(heart).to_have_attribute("aria-pressed", "true")
    page.reload()  # the marks are kept by the server, not just the page
    expect(page.get_by_role("button", name="Favourite IMG_0.jpg")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(page.get_by_role("button", name="Favourite IMG_1.jpg")).to_have_attribute(
        "aria-pressed", "false"
    )
    marked = Favourite.objects.filter(gallery=gallery).values_list(
        "photo__original_name", flat=True
    )
    assert sorted(marked) == ["IMG_0.jpg", "IMG_2.jpg"]

    with page.expect_download() as waiting:
        page.locator(".photo", has_text="IMG_1.jpg").get_by_role("link", name="Download").click()
    download = waiting.value
    assert download.suggested_filename == "IMG_1-proof.jpg"  # not paid yet: the proof
    data = Path(download.path()).read_bytes()
    assert data.startswith(b"\xff\xd8")
    assert images.private_metadata(data) == {}  # no GPS, serials or owner in what they got
    from PIL import Image

    assert Image.open(io.BytesIO(data)).size == (640, 480)
