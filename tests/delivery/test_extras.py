"""Extra photos beyond the package, bought through the booking's payment flow."""

import uuid

import pytest
from django.test import Client
from rest_framework.test import APIClient

from booking import services as booking_services
from booking.models import Payment
from delivery.models import ExtraPurchase


@pytest.fixture
def selling(gallery):
    """The gallery (2 photos in the package) sells extra photos at 12.50 EUR each."""
    gallery.extra_photo_price_minor = 1250
    gallery.save(update_fields=["extra_photo_price_minor"])
    return gallery


@pytest.fixture
def owner(client_user):
    client = Client()
    client.force_login(client_user)
    return client


def choose(client, gallery, photo):
    return client.post(
        f"/api/galleries/{gallery.pk}/photos/{photo.pk}/selection/",
        {"selected": True},
        content_type="application/json",
    )


def buy(owner, gallery, photos: int, key: str | None = None):
    return owner.post(
        f"/galleries/{gallery.pk}/extras/", {"photos": photos, "key": key or str(uuid.uuid4())}
    )


def test_a_client_buys_an_extra_photo_and_may_select_it_once_paid(
    owner, selling, photos, django_capture_on_commit_callbacks
):
    assert [choose(owner, selling, p).status_code for p in photos] == [200, 200, 409]

    response = buy(owner, selling, 1)
    payment = Payment.objects.get(kind="extras")
    assert response.url == f"/payments/{payment.pk}/?next=/galleries/{selling.pk}/"
    assert payment.amount_minor == 1250
    assert choose(owner, selling, photos[2]).status_code == 409  # not paid yet

    with django_capture_on_commit_callbacks(execute=True):
        paid = owner.post(response.url, {"outcome": "succeed"})

    assert paid.url == f"/galleries/{selling.pk}/"
    assert Payment.objects.get(pk=payment.pk).status == "succeeded"
    assert choose(owner, selling, photos[2]).status_code == 200
    page = owner.get(f"/galleries/{selling.pk}/").content.decode()
    assert "of 3 photos (2 in your package, the rest bought)" in page
    (listed,) = owner.get("/api/galleries/").json()
    assert listed["photo_allowance"] == 3


def test_the_same_purchase_form_sent_twice_buys_once(owner, selling):
    key = str(uuid.uuid4())

    buy(owner, selling, 2, key)
    buy(owner, selling, 2, key)

    assert ExtraPurchase.objects.count() == 1 == Payment.objects.filter(kind="extras").count()


def test_extras_do_not_count_toward_the_sessions_price(owner, selling, booking):
    response = buy(owner, selling, 1)
    owner.post(response.url, {"outcome": "succeed"})

    detail = owner.get(f"/bookings/{booking.pk}/").content.decode()
    assert "still to pay: 150.00 EUR" in detail and "Extra photos" in detail


@pytest.mark.parametrize(
    "photos, message", [("0", "greater than or equal to 1"), ("lots", "Enter a whole number")]
)
def test_bad_quantities_are_refused(owner, selling, photos, message):
    response = owner.post(
        f"/galleries/{selling.pk}/extras/", {"photos": photos, "key": str(uuid.uuid4())}
    )

    assert message in owner.get(response.url).content.decode()
    assert not Payment.objects.exists()


def test_nothing_to_buy_when_the_studio_sells_no_extras(owner, gallery):
    response = APIClient()
    response.force_authenticate(gallery.booking.client)

    answer = response.post(f"/api/galleries/{gallery.pk}/extras/", {"photos": 1})

    assert answer.status_code == 409 and answer.json()["error"]["code"] == "extras_not_sold"


@pytest.mark.parametrize("key", ["k" * 65, "k" * 200, "spaces are not allowed", "clé"])
def test_a_malformed_idempotency_key_is_refused_clearly(selling, key):
    api = APIClient()
    api.force_authenticate(selling.booking.client)

    answer = api.post(
        f"/api/galleries/{selling.pk}/extras/", {"photos": 1}, HTTP_IDEMPOTENCY_KEY=key
    )

    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "bad_idempotency_key" and "64" in error["message"]
    assert not Payment.objects.exists()


def test_the_longest_idempotency_key_buys_once(selling):
    api = APIClient()
    api.force_authenticate(selling.booking.client)
    key = "A-z_9" * 12 + "abcd"  # 64 characters

    for _ in range(2):
        answer = api.post(
            f"/api/galleries/{selling.pk}/extras/", {"photos": 1}, HTTP_IDEMPOTENCY_KEY=key
        )
        assert answer.status_code == 201, answer.json()

    assert ExtraPurchase.objects.count() == 1 == Payment.objects.filter(kind="extras").count()


def test_only_the_clients_account_buys(selling, photographer, other_client, token):
    link_holder = Client()
    link_holder.post(f"/g/{token}/", {"pin": "2468"})
    studio = APIClient()
    studio.force_authenticate(photographer)
    stranger = APIClient()
    stranger.force_authenticate(other_client)

    assert (
        link_holder.post(f"/api/galleries/{selling.pk}/extras/", {"photos": 1}).status_code == 403
    )
    assert studio.post(f"/api/galleries/{selling.pk}/extras/", {"photos": 1}).status_code == 403
    assert stranger.post(f"/api/galleries/{selling.pk}/extras/", {"photos": 1}).status_code == 404
    assert not Payment.objects.exists()


def test_the_studio_sets_the_price_and_bad_settings_are_refused(photographer, gallery):
    studio = Client()
    studio.force_login(photographer)
    url = f"/galleries/{gallery.pk}/settings/"

    studio.post(url, {"action": "update", "included_photos": "5", "extra_photo_price": "12.50"})
    gallery.refresh_from_db()
    assert (gallery.included_photos, gallery.extra_photo_price_minor) == (5, 1250)

    for bad in [{"included_photos": "many"}, {"included_photos": "5", "expires_on": "31/02"}]:
        response = studio.post(url, {"action": "update", **bad}, follow=True)
        assert response.status_code == 200 and "Enter a" in response.content.decode()
    gallery.refresh_from_db()
    assert (gallery.included_photos, gallery.extra_photo_price_minor) == (5, 1250)


def test_extras_refunded_in_full_stop_counting_and_the_booking_stands(
    owner, selling, booking, django_capture_on_commit_callbacks
):
    response = buy(owner, selling, 1)
    owner.post(response.url, {"outcome": "succeed"})
    payment = Payment.objects.get(kind="extras")
    refunded = {
        "id": "evt_extras_refunded",
        "type": "charge.refunded",
        "data": {
            "object": {
                "id": "ch_extras",
                "payment_intent": payment.intent_id,
                "amount_refunded": payment.amount_minor,
            }
        },
    }

    with django_capture_on_commit_callbacks(execute=True):
        booking_services.payment_event_record(event=refunded)

    booking.refresh_from_db()
    assert booking.status == "confirmed"
    page = owner.get(f"/galleries/{selling.pk}/").content.decode()
    assert "of 2 photos in your package" in page
