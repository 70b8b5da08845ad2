"""Money in currencies without two decimals: yen (none) and Kuwaiti dinar (three), as clients
and staff read and type it on pages, e-mails, receipts and the history."""

import uuid

import pytest
from django.core import mail

from booking import services
from booking.models import Payment, Refund
from booking.payments import simulated_success_event
from delivery.models import Gallery
from tests.factories import PhotographerFactory, SessionTypeFactory, StaffFactory, working_week

# currency, price and deposit in minor units, how they read, a refund typed by staff and its
# minor units, and an amount with too many decimals.
CURRENCIES = {
    "JPY": (15000, 5000, "15,000 JPY", "5,000 JPY", "1500", 1500, "1,500 JPY", "12.5"),
    "KWD": (150000, 50000, "150.000 KWD", "50.000 KWD", "12.5", 12500, "12.500 KWD", "1.0005"),
}


@pytest.fixture(params=CURRENCIES, ids=list(CURRENCIES))
def money_case(request, studio):
    studio.currency = request.param
    studio.save()
    price, deposit, *words = CURRENCIES[request.param]
    session_type = SessionTypeFactory(studio=studio, price_minor=price, deposit_minor=deposit)
    working_week(PhotographerFactory(studio=studio))
    return session_type, words


@pytest.fixture
def paid_in(money_case, client_user, at, django_capture_on_commit_callbacks):
    session_type, _ = money_case
    booking = services.booking_hold(client=client_user, session_type=session_type, start=at(10))
    payment = services.payment_start(booking=booking, actor=client_user)
    with django_capture_on_commit_callbacks(execute=True):
        services.payment_event_record(event=simulated_success_event(payment))
    booking.refresh_from_db()
    return booking, payment


def test_prices_read_in_the_currencys_decimals(client, client_user, staff, money_case, paid_in):
    session_type, (price, deposit, *_) = money_case
    booking, payment = paid_in
    client.force_login(client_user)

    home = client.get("/").content.decode()
    detail = client.get(f"/bookings/{booking.pk}/").content.decode()
    receipt_page = client.get(f"/payments/{payment.pk}/receipt/").content.decode()

    assert price in home and deposit in home
    assert price in detail and deposit in detail
    assert deposit in receipt_page
    receipt = next(m for m in mail.outbox if m.subject.startswith("Receipt P-"))
    assert f"we have received your payment of {deposit}" in receipt.body
    client.force_login(staff)
    history = client.get(f"/bookings/{booking.pk}/").content.decode()
    assert f"Paid {deposit} deposit" in history


def test_staff_type_refunds_in_the_currencys_decimals(
    client, staff, money_case, paid_in, django_capture_on_commit_callbacks
):
    _, (_, deposit, typed, minor, shown, too_precise) = money_case
    booking, payment = paid_in
    client.force_login(staff)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/payments/{payment.pk}/refund/", refund_form(typed))
    refused = [
        client.post(f"/payments/{payment.pk}/refund/", refund_form(amount), follow=True)
        for amount in (too_precise, "100000")
    ]

    assert [r.amount_minor for r in Refund.objects.all()] == [minor]
    assert Payment.objects.get(pk=payment.pk).refunded_minor == minor
    (receipt,) = mail.outbox
    assert f"we have refunded {shown}" in receipt.body
    places = {"JPY": 0, "KWD": 3}[booking.currency]
    assert f"no more than {places} decimal places" in refused[0].content.decode()
    left = Payment.objects.get(pk=payment.pk).amount_minor - minor
    assert f"at most {_money(left, booking.currency)}" in refused[1].content.decode()
    page = client.get(f"/bookings/{booking.pk}/").content.decode()
    assert f"−{shown}" in page and f"Refunded {shown}" in page
    step = {"JPY": 'step="1"', "KWD": 'step="0.001"'}[booking.currency]
    assert step in page  # the refund form's amount input


def test_the_extra_photo_price_is_typed_in_the_currencys_decimals(
    client, money_case, paid_in, studio
):
    booking, _ = paid_in
    staff = StaffFactory(studio=studio)
    client.force_login(staff)
    gallery = Gallery.objects.create(booking=booking, included_photos=5)
    typed, minor = {"JPY": ("1250", 1250), "KWD": ("1.25", 1250)}[booking.currency]

    client.post(
        f"/galleries/{gallery.pk}/settings/",
        {"action": "update", "included_photos": "5", "extra_photo_price": typed},
    )

    gallery.refresh_from_db()
    assert gallery.extra_photo_price_minor == minor
    page = client.get(f"/galleries/{gallery.pk}/").content.decode()
    assert f'value="{typed}"' in page or f'value="{typed}0"' in page


def refund_form(amount: str) -> dict:
    return {"amount": amount, "reason": "Goodwill", "request_key": str(uuid.uuid4())}


def _money(amount_minor: int, currency: str) -> str:
    from studio.formats import money

    return money(amount_minor, currency)
