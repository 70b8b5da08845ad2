"""The booking journey through the API: hold, confirm, reschedule, cancel, and every bad input."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from booking import services
from booking.models import Booking
from studio.models import AuditEvent
from studio.selectors import booking_history
from tests.factories import (
    PhotographerFactory,
    SessionTypeFactory,
    StudioFactory,
    UserFactory,
    working_week,
)


@pytest.fixture
def hold(api, session_type, photographer, at):
    def hold(hour=10, minute=0, client=api, **body):
        payload = {"session_type": session_type.pk, "start": at(hour, minute).isoformat(), **body}
        return client.post("/api/bookings/", payload, format="json")

    return hold


@pytest.fixture
def confirmed(api, hold, django_capture_on_commit_callbacks):
    def confirmed(hour=10, **body):
        booking_id = hold(hour, **body).json()["id"]
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(f"/api/bookings/{booking_id}/confirm/", {}, format="json")
        assert response.status_code == 200, response.json()
        return Booking.objects.get(pk=booking_id)

    return confirmed


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


def test_hold_then_confirm_books_the_slot_and_emails_an_invite(
    api, hold, client_user, photographer, at, django_capture_on_commit_callbacks
):
    response = hold(10)
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "held"
    assert body["photographer"] == {"id": photographer.pk, "name": str(photographer)}
    assert body["price"] == {"amount_minor": 15000, "currency": "EUR"}

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/bookings/{body['id']}/confirm/", {"notes": "Bring a dog"})

    assert response.status_code == 200
    assert response.json()["status"] == "confirmed"
    booking = Booking.objects.get()
    assert (booking.status, booking.client, booking.start) == ("confirmed", client_user, at(10))
    assert [m.to for m in mail.outbox] == [[client_user.email]]
    ((name, invite, mimetype),) = mail.outbox[0].attachments
    assert name == "invite.ics" and mimetype.startswith("text/calendar")
    assert "METHOD:REQUEST" in invite and f"UID:booking-{booking.pk}@" in invite
    assert "DTSTART:" + booking.start.strftime("%Y%m%dT%H%M%SZ") in invite
    assert at(10).strftime("%H:%M") in mail.outbox[0].body


def test_confirming_twice_is_harmless(api, confirmed):
    booking = confirmed()
    response = api.post(f"/api/bookings/{booking.pk}/confirm/", {})

    assert response.status_code == 200
    assert len(mail.outbox) == 1


def test_a_taken_slot_answers_409_with_nearby_open_slots(hold, other_client, at):
    assert hold(10).status_code == 201
    other = APIClient()
    other.force_authenticate(other_client)

    response = hold(10, 30, client=other)  # overlaps the 10:00–11:00 hold

    assert_error(response, 409, "slot_taken")
    alternatives = response.json()["error"]["alternatives"]
    assert alternatives
    starts = {timezone.datetime.fromisoformat(a["start"]) for a in alternatives}
    assert at(10) not in starts and at(10, 30) not in starts and at(11) in starts
    assert Booking.objects.count() == 1


def test_an_expired_hold_frees_the_slot(api, hold, other_client):
    booking_id = hold(10).json()["id"]
    Booking.objects.filter(pk=booking_id).update(
        hold_expires_at=timezone.now() - timedelta(seconds=1)
    )

    assert_error(api.post(f"/api/bookings/{booking_id}/confirm/", {}), 409, "hold_expired")
    other = APIClient()
    other.force_authenticate(other_client)
    assert hold(10, client=other).status_code == 201
    assert Booking.objects.get(pk=booking_id).status == "expired"


def test_any_free_photographer_gets_the_booking(api, hold, studio, photographer, other_client):
    second = PhotographerFactory(studio=studio)
    working_week(second)
    other = APIClient()
    other.force_authenticate(other_client)

    first, then = hold(10).json(), hold(10, client=other).json()

    assert {first["photographer"]["id"], then["photographer"]["id"]} == {photographer.pk, second.pk}


@pytest.mark.parametrize(
    "start, code",
    [
        ("2020-01-01T10:00:00+01:00", "slot_in_past"),
        ("22:00", "slot_not_offered"),  # outside working hours
        ("10:10", "slot_not_offered"),  # not one of the offered start times
        ("2099-01-01T10:00:00+01:00", "too_far_ahead"),
    ],
)
def test_times_the_studio_does_not_offer_are_refused(hold, api, session_type, at, start, code):
    if not start.startswith("20"):
        hour, minute = map(int, start.split(":"))
        start = at(hour, minute).isoformat()
    response = api.post("/api/bookings/", {"session_type": session_type.pk, "start": start})

    assert_error(response, 400, code)
    assert not Booking.objects.exists()


def test_too_short_notice_is_refused(api, session_type, photographer):
    session_type.min_notice_minutes = 48 * 60
    session_type.save()
    soon = timezone.now() + timedelta(hours=3)

    response = api.post(
        "/api/bookings/", {"session_type": session_type.pk, "start": soon.isoformat()}
    )

    assert_error(response, 400, "too_short_notice")


@pytest.mark.parametrize(
    "body",
    [
        {"start": "2027-13-45T99:00"},
        {"start": "next tuesday"},
        {"start": "2027-03-01T10:00:00"},  # no offset: ambiguous
        {"start": ""},
        {"start": "0001-01-01T00:00:00+01:00"},  # before UTC can represent it
        {"start": "9999-12-31T23:00:00-05:00"},  # after it
        {},
    ],
)
def test_malformed_requests_are_400_with_field_errors(api, session_type, body):
    response = api.post("/api/bookings/", {"session_type": session_type.pk, **body}, format="json")

    assert_error(response, 400, "invalid")
    assert "start" in response.json()["error"]["fields"]
    assert not Booking.objects.exists()


def test_unknown_session_type_is_404(api, at):
    response = api.post("/api/bookings/", {"session_type": 999999, "start": at(10).isoformat()})

    assert_error(response, 404, "not_found")


def test_deposit_sessions_wait_for_payment(api, session_type, hold):
    session_type.deposit_minor = 5000
    session_type.save()
    booking_id = hold(10).json()["id"]

    assert_error(api.post(f"/api/bookings/{booking_id}/confirm/", {}), 402, "payment_required")
    assert Booking.objects.get(pk=booking_id).status == "held"


def test_on_location_needs_an_address(api, session_type, hold):
    session_type.location = "on_location"
    session_type.save()
    booking_id = hold(10).json()["id"]

    assert_error(api.post(f"/api/bookings/{booking_id}/confirm/", {}), 400, "address_required")
    response = api.post(f"/api/bookings/{booking_id}/confirm/", {"location_address": "Park 1"})
    assert response.json()["location_address"] == "Park 1"


@pytest.mark.parametrize("action", ["", "confirm/", "cancel/", "reschedule/"])
def test_someone_elses_booking_is_not_found(confirmed, other_client, at, action):
    booking = confirmed()
    other = APIClient()
    other.force_authenticate(other_client)
    url = f"/api/bookings/{booking.pk}/{action}"

    response = other.get(url) if not action else other.post(url, {"start": at(14).isoformat()})

    assert_error(response, 404, "not_found")
    booking.refresh_from_db()
    assert (booking.status, booking.start) == ("confirmed", at(10))


def test_photographers_of_another_studio_cannot_see_a_booking(confirmed):
    booking = confirmed()
    stranger = APIClient()
    stranger.force_authenticate(PhotographerFactory(studio=StudioFactory()))

    assert_error(stranger.get(f"/api/bookings/{booking.pk}/"), 404, "not_found")


def test_anonymous_requests_are_refused(session_type, at):
    response = APIClient().post(
        "/api/bookings/", {"session_type": session_type.pk, "start": at(10).isoformat()}
    )

    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] == "not_authenticated"


def test_client_cancels_before_the_cutoff(api, confirmed, django_capture_on_commit_callbacks):
    booking = confirmed()

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/bookings/{booking.pk}/cancel/", {"reason": "Ill"})

    assert response.json()["status"] == "cancelled"
    ((name, invite, _),) = mail.outbox[-1].attachments
    assert name == "cancel.ics" and "METHOD:CANCEL" in invite
    assert booking_history(booking_id=booking.pk).last().kind == AuditEvent.Kind.BOOKING_CANCELLED


def test_after_the_cutoff_the_client_can_cancel_but_not_move(api, confirmed, studio, staff, at):
    booking = confirmed()
    studio.cancellation_cutoff_hours = 24 * 30
    studio.save()

    moving = api.post(f"/api/bookings/{booking.pk}/reschedule/", {"start": at(14).isoformat()})
    assert_error(moving, 409, "cutoff_passed")
    assert Booking.objects.get(pk=booking.pk).start == booking.start

    response = api.post(f"/api/bookings/{booking.pk}/cancel/", {"reason": "Ill"})
    assert response.json()["status"] == "cancelled"
    assert booking_history(booking_id=booking.pk).last().details["by"] == "client"


def test_the_studio_cancels_at_any_time(confirmed, studio, staff):
    booking = confirmed()
    studio.cancellation_cutoff_hours = 24 * 30
    studio.save()

    studio_api = APIClient()
    studio_api.force_authenticate(staff)
    response = studio_api.post(f"/api/bookings/{booking.pk}/cancel/", {"reason": "Studio closed"})
    assert response.json()["status"] == "cancelled"
    assert booking_history(booking_id=booking.pk).last().details["by"] == "studio"


def test_photographers_cannot_cancel_for_the_studio(confirmed, photographer):
    booking = confirmed()
    as_photographer = APIClient()
    as_photographer.force_authenticate(photographer)

    response = as_photographer.post(f"/api/bookings/{booking.pk}/cancel/", {})

    assert_error(response, 403, "studio_staff_only")


def test_reschedule_moves_the_same_booking_and_frees_the_old_time(
    api, confirmed, at, other_client, hold, django_capture_on_commit_callbacks
):
    booking = confirmed(10)

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"/api/bookings/{booking.pk}/reschedule/", {"start": at(14).isoformat()}
        )

    assert response.status_code == 200, response.json()
    booking.refresh_from_db()
    assert (booking.start, booking.status, booking.sequence) == (at(14), "confirmed", 1)
    assert "SEQUENCE:1" in mail.outbox[-1].attachments[0][1]
    other = APIClient()
    other.force_authenticate(other_client)
    assert hold(10, client=other).status_code == 201


def test_reschedule_can_shift_within_its_own_time(api, confirmed, at):
    booking = confirmed(10)

    response = api.post(
        f"/api/bookings/{booking.pk}/reschedule/", {"start": at(10, 30).isoformat()}
    )

    assert response.status_code == 200, response.json()


def test_reschedule_to_a_taken_time_changes_nothing(api, confirmed, at, other_client, hold):
    booking = confirmed(10)
    other = APIClient()
    other.force_authenticate(other_client)
    assert hold(14, client=other).status_code == 201

    response = api.post(f"/api/bookings/{booking.pk}/reschedule/", {"start": at(14).isoformat()})

    assert_error(response, 409, "slot_taken")
    booking.refresh_from_db()
    assert (booking.start, booking.sequence) == (at(10), 0)


def test_slots_endpoint_names_the_zone_and_uses_its_offsets(api, session_type, photographer, day):
    response = APIClient().get(
        f"/api/session-types/{session_type.pk}/slots/",
        {"date": day.isoformat(), "days": 1, "tz": "America/New_York"},
    )

    body = response.json()
    assert body["time_zone"] == "America/New_York"
    first = timezone.datetime.fromisoformat(body["slots"][0]["start"])
    assert first.utcoffset() in (timedelta(hours=-5), timedelta(hours=-4))
    berlin_nine = timezone.datetime.combine(
        day, timezone.datetime.min.time(), session_type.studio.zone
    )
    assert first == berlin_nine.replace(hour=9)  # in Berlin, the studio opens at 9


@pytest.mark.parametrize(
    "params, code",
    [
        ({"date": "2027-02-30"}, "invalid"),
        ({"date": "9999-12-31"}, "invalid"),
        ({"days": 400}, "invalid"),
        ({"tz": "Mars/Olympus"}, "invalid_time_zone"),
    ],
)
def test_slots_endpoint_rejects_bad_parameters(session_type, params, code):
    response = APIClient().get(f"/api/session-types/{session_type.pk}/slots/", params)

    assert_error(response, 400, code)


def test_schedule_shows_the_day_to_the_studio_team_only(
    confirmed, photographer, staff, studio, day
):
    booking = confirmed()
    elsewhere = SessionTypeFactory()
    assert elsewhere.studio != studio

    def schedule(user):
        client = APIClient()
        client.force_authenticate(user)
        return client.get("/api/schedule/", {"date": day.isoformat()})

    assert [b["id"] for b in schedule(photographer).json()] == [booking.pk]
    assert [b["id"] for b in schedule(staff).json()] == [booking.pk]
    assert_error(schedule(booking.client), 403, "studio_only")
    assert schedule(PhotographerFactory(studio=studio)).json() == []


def test_my_bookings_lists_only_mine(api, confirmed, other_client):
    booking = confirmed()

    assert [b["id"] for b in api.get("/api/bookings/").json()] == [booking.pk]
    other = APIClient()
    other.force_authenticate(other_client)
    assert other.get("/api/bookings/").json() == []


def test_a_client_holds_one_time_at_once(api, hold):
    first = hold(10).json()["id"]

    second = hold(14).json()["id"]

    assert Booking.objects.get(pk=first).status == "expired"
    assert Booking.objects.get(pk=second).status == "held"
    assert [b["id"] for b in api.get("/api/bookings/").json()] == [second]


def test_schedule_lists_a_day_in_constant_queries(
    staff, studio, session_type, photographer, day, at, django_assert_num_queries
):
    for hour in range(9, 16):
        services.booking_hold(client=UserFactory(), session_type=session_type, start=at(hour))
    client = APIClient()
    client.force_authenticate(staff)

    with django_assert_num_queries(1):
        response = client.get("/api/schedule/", {"date": day.isoformat()})

    assert len(response.json()) == 7
