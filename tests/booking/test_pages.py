"""Booking pages: session type → slot → details → confirmation; my bookings; the day plan."""

import re

import pytest
from django.core import mail

from booking.models import Booking
from tests.factories import PhotographerFactory, StudioFactory


@pytest.fixture
def logged_in(client, client_user):
    client.force_login(client_user)
    return client


def test_home_lists_session_types_with_prices(client, session_type):
    page = client.get("/").content.decode()

    assert session_type.name in page and "150.00 EUR" in page
    assert f'href="/book/{session_type.pk}/"' in page


def test_slots_page_names_the_zone_and_shows_local_times(client, session_type, photographer, day):
    page = client.get(f"/book/{session_type.pk}/", {"date": day.isoformat(), "tz": "Asia/Tokyo"})

    html = page.content.decode()
    assert '<strong id="zone-name">Asia/Tokyo</strong>' in html
    assert "(the studio is in Europe/Berlin)" in html
    # 09:00 in Berlin is 17:00 (winter) or 16:00 (summer) in Tokyo.
    assert re.search(r">1[67]:00</button>", html)


def test_slots_page_guesses_the_studio_zone_until_the_browser_says(client, session_type):
    html = client.get(f"/book/{session_type.pk}/").content.decode()

    assert 'data-zone-confirmed="false"' in html and "time-zone.js" in html


def test_a_link_cannot_change_the_zone_an_account_already_has(logged_in, client_user, session_type):
    client_user.time_zone = "Europe/Paris"
    client_user.save()

    html = logged_in.get(f"/book/{session_type.pk}/", {"tz": "Pacific/Kiritimati"}).content.decode()

    assert '<strong id="zone-name">Pacific/Kiritimati</strong>' in html  # shown this session
    client_user.refresh_from_db()
    assert client_user.time_zone == "Europe/Paris"


def test_the_chosen_zone_is_remembered(logged_in, client_user, session_type):
    logged_in.get(f"/book/{session_type.pk}/", {"tz": "America/Chicago"})

    client_user.refresh_from_db()
    assert client_user.time_zone == "America/Chicago"
    assert (
        'data-zone-confirmed="true"' in logged_in.get(f"/book/{session_type.pk}/").content.decode()
    )


def test_anonymous_visitors_log_in_before_a_slot_is_held(client, session_type, photographer, at):
    response = client.post(f"/book/{session_type.pk}/hold/", {"start": at(10).isoformat()})

    assert response.status_code == 302 and response.url.startswith("/login/")
    assert not Booking.objects.exists()


def test_booking_from_slot_to_confirmation(
    logged_in, client_user, session_type, photographer, at, django_capture_on_commit_callbacks
):
    response = logged_in.post(f"/book/{session_type.pk}/hold/", {"start": at(10).isoformat()})
    booking = Booking.objects.get()
    assert response.url == f"/bookings/{booking.pk}/details/"
    assert "We hold this time for you until" in logged_in.get(response.url).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in.post(response.url, {"notes": "Two people"}, follow=True)

    assert "Booking confirmed" in response.content.decode()
    booking.refresh_from_db()
    assert (booking.status, booking.notes) == ("confirmed", "Two people")
    assert len(mail.outbox) == 1


def test_a_taken_slot_shows_nearby_times_with_409(
    logged_in, other_client, session_type, photographer, at
):
    from booking.services import booking_hold

    booking_hold(client=other_client, session_type=session_type, start=at(10))

    response = logged_in.post(f"/book/{session_type.pk}/hold/", {"start": at(10).isoformat()})

    assert response.status_code == 409
    html = response.content.decode()
    assert 'data-error-code="slot_taken"' in html
    assert ">11:00</button>" in html and ">10:00</button>" not in html  # studio time
    assert Booking.objects.count() == 1


def test_a_malformed_slot_changes_nothing(logged_in, session_type):
    response = logged_in.post(f"/book/{session_type.pk}/hold/", {"start": "yesterday"}, follow=True)

    assert "Please pick one of the offered times." in response.content.decode()
    assert not Booking.objects.exists()


def test_on_location_sessions_ask_for_the_address(logged_in, session_type, photographer, at):
    session_type.location = "on_location"
    session_type.save()
    logged_in.post(f"/book/{session_type.pk}/hold/", {"start": at(10).isoformat()})
    booking = Booking.objects.get()

    response = logged_in.post(f"/bookings/{booking.pk}/details/", {"notes": "x"})

    assert "Please give the address of the location." in response.content.decode()
    booking.refresh_from_db()
    assert booking.status == "held"


def test_my_bookings_reschedule_and_cancel(logged_in, client_user, session_type, photographer, at):
    from booking.services import booking_confirm, booking_hold

    booking = booking_hold(client=client_user, session_type=session_type, start=at(10))
    booking_confirm(booking=booking, actor=client_user)

    listing = logged_in.get("/bookings/").content.decode()
    assert f"/bookings/{booking.pk}/reschedule/" in listing

    moved = logged_in.post(f"/bookings/{booking.pk}/reschedule/", {"start": at(13).isoformat()})
    assert moved.status_code == 302
    booking.refresh_from_db()
    assert booking.start == at(13)

    response = logged_in.post(f"/bookings/{booking.pk}/cancel/", follow=True)
    assert "The booking is cancelled." in response.content.decode()
    booking.refresh_from_db()
    assert booking.status == "cancelled"


@pytest.mark.parametrize(
    "url", ["/bookings/{}/", "/bookings/{}/details/", "/bookings/{}/reschedule/"]
)
def test_someone_elses_booking_pages_are_404(
    client, other_client, session_type, photographer, at, url
):
    from booking.services import booking_hold

    booking = booking_hold(client=other_client, session_type=session_type, start=at(10))
    stranger = PhotographerFactory(studio=StudioFactory())
    client.force_login(stranger)

    assert client.get(url.format(booking.pk)).status_code == 404
    assert client.post(f"/bookings/{booking.pk}/cancel/").status_code == 404
    booking.refresh_from_db()
    assert booking.status == "held"


def test_schedule_page_for_the_studio_team(
    client, staff, photographer, client_user, session_type, at, day
):
    from booking.services import booking_confirm, booking_hold

    booking_confirm(
        booking=booking_hold(client=client_user, session_type=session_type, start=at(10)),
        actor=client_user,
    )
    client.force_login(staff)

    html = client.get("/schedule/", {"date": day.isoformat()}).content.decode()

    assert "10:00–11:00" in html and client_user.email in html
    client.force_login(client_user)
    assert client.get("/schedule/").status_code == 403


@pytest.mark.parametrize("date", ["9999-12-31", "0001-01-01", "soon"])
def test_nonsense_dates_in_the_address_show_today(client, staff, session_type, photographer, date):
    assert client.get(f"/book/{session_type.pk}/", {"date": date}).status_code == 200
    client.force_login(staff)
    assert client.get("/schedule/", {"date": date}).status_code == 200


def test_a_hold_refused_without_alternatives_still_shows_the_week(
    logged_in, session_type, photographer, at
):
    response = logged_in.post(
        f"/book/{session_type.pk}/hold/", {"start": "2020-01-06T10:00:00+01:00"}
    )

    html = response.content.decode()
    assert response.status_code == 400 and 'data-error-code="slot_in_past"' in html
    assert "</button>" in html and "Later" in html


def test_a_start_beyond_the_calendar_is_refused_cleanly(logged_in, session_type):
    response = logged_in.post(
        f"/book/{session_type.pk}/hold/", {"start": "9999-12-31T23:00:00-05:00"}, follow=True
    )

    assert "Please pick one of the offered times." in response.content.decode()
