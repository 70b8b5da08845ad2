"""A gallery's history on its manage page: what the studio and the client did, in sentences."""

import html
import re
from zoneinfo import ZoneInfo

from django.test import Client

from studio.selectors import gallery_history
from tests.delivery import corpus
from tests.delivery.conftest import add_photo


def history_on_page(browser, gallery) -> list[str]:
    page = browser.get(f"/galleries/{gallery.pk}/").content.decode()
    items = re.search(r'<ul class="muted" id="history">(.*?)</ul>', page, re.S).group(1)
    lines = re.findall(r"<li>(.*?)</li>", items, re.S)
    return [html.unescape(re.sub(r"\s+", " ", line)).strip() for line in lines]


def sentences(lines: list[str]) -> list[str]:
    """The lines without their time: "Gallery created — Ana"."""
    return [line.split(": ", 1)[1] for line in lines]


def test_the_studio_reads_what_happened_to_the_gallery(
    gallery, photographer, client_user, django_capture_on_commit_callbacks
):
    studio = Client()
    studio.force_login(photographer)
    with django_capture_on_commit_callbacks(execute=True):
        photo = add_photo(gallery, photographer, corpus.jpeg(seed=1), "IMG_001.jpg")
    settings_url = f"/galleries/{gallery.pk}/settings/"
    studio.post(settings_url, {"action": "new_link", "pin": "1357"})
    studio.post(settings_url, {"action": "revoke"})
    studio.post(settings_url, {"action": "reopen"})
    owner = Client()
    owner.force_login(client_user)
    owner.post(
        f"/api/galleries/{gallery.pk}/photos/{photo.pk}/selection/",
        {"selected": True},
        content_type="application/json",
    )
    owner.post(f"/api/galleries/{gallery.pk}/selection/submit/")

    assert sentences(history_on_page(studio, gallery)) == [
        f"Gallery created — {photographer}",
        f"Photo IMG_001.jpg uploaded — {photographer}",
        f"Published 1 photo to the client — {photographer}",
        f"Gallery link renewed with a new PIN — {photographer}",
        f"Gallery closed to the client and the link — {photographer}",
        f"Gallery reopened — {photographer}",
        f"Selection sent to the studio (1 chosen) — {client_user}",
    ]


def test_gallery_times_are_shown_in_the_viewers_zone(gallery, photographer):
    studio = Client()
    studio.force_login(photographer)

    page = studio.get(f"/galleries/{gallery.pk}/", {"tz": "Asia/Tokyo"}).content.decode()

    created = gallery_history(gallery_id=gallery.pk).get().at.astimezone(ZoneInfo("Asia/Tokyo"))
    assert 'History <span class="muted">(Asia/Tokyo)</span>' in page
    assert history_on_page(studio, gallery) == [
        f"{created:%Y-%m-%d %H:%M}: Gallery created — {photographer}"
    ]
