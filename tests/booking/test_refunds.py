"""Money back and money still due: the cancellation policy, the studio's refunds, the balance,
and a receipt for every payment and refund."""

import uuid
from datetime import timedelta

import pytest
from django.core import mail
from rest_framework.test import APIClient

from booking import services
from booking.models import Booking, Payment, Refund
from booking.payments import simulated_success_event
from booking.tasks import booking_complete_finished_task, refunds_retry_task
from studio.models import AuditEvent
from studio.selectors import booking_history
from tests.booking.test_payments import deliver, subjects
from tests.factories import StaffFactory, StudioFactory


def refunds_of(booking: Booking) -> list[tuple[int, str]]:
    return [(r.amount_minor, r.reason) for r in Refund.objects.filter(payment__booking=booking)]


@pytest.fixture
def staff_browser(client, staff):
    client.force_login(staff)
    return client


def refund_form(amount: str, reason: str = "Goodwill", key: str | None = None) -> dict:
    return {"amount": amount, "reason": reason, "request_key": key or str(uuid.uuid4())}


# --- Cancellation policy ---------------------------------------------------------------------


def test_a_client_cancelling_before_the_cutoff_gets_the_deposit_back(
    paid, client_user, django_capture_on_commit_callbacks
):
    booking = paid()
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.booking_cancel(booking=booking, actor=client_user)

    assert refunds_of(booking) == [(5000, "cancelled by the client")]
    refund = Refund.objects.get()
    assert refund.provider_refund_id.startswith("re_testmode_")
    assert Payment.objects.get().refunded_minor == 5000
    receipt = next(m for m in mail.outbox if m.subject.startswith("Receipt R-"))
    assert (
        "we have refunded 50.00 EUR" in receipt.body and refund.provider_refund_id in receipt.body
    )


def test_a_client_cancelling_after_the_cutoff_loses_the_deposit(paid, client_user, studio):
    booking = paid()
    studio.cancellation_cutoff_hours = 24 * 30
    studio.save()

    services.booking_cancel(booking=booking, actor=client_user)

    assert Booking.objects.get(pk=booking.pk).status == "cancelled"
    assert refunds_of(booking) == []
    assert Payment.objects.get().refunded_minor == 0


def test_the_studio_cancelling_refunds_everything_even_after_the_cutoff(paid, staff, studio):
    booking = paid()
    studio.cancellation_cutoff_hours = 24 * 30
    studio.save()

    services.booking_cancel(booking=booking, actor=staff, reason="Photographer ill")

    assert refunds_of(booking) == [(5000, "cancelled by the studio")]


def test_the_booking_page_says_what_cancelling_gives_back(client, client_user, paid, studio):
    booking = paid()
    client.force_login(client_user)

    page = client.get(f"/bookings/{booking.pk}/").content.decode()
    assert "Cancelling now refunds 50.00 EUR." in page

    studio.cancellation_cutoff_hours = 24 * 30
    studio.save()
    page = client.get(f"/bookings/{booking.pk}/").content.decode()
    assert "Cancelling now keeps the deposit" in page
    assert "Move to another time" not in page


def test_a_payment_arriving_after_the_client_cancelled_is_refunded(
    client_user, deposit_type, photographer, at, django_capture_on_commit_callbacks
):
    booking = services.booking_hold(client=client_user, session_type=deposit_type, start=at(10))
    payment = services.payment_start(booking=booking, actor=client_user)
    services.booking_cancel(booking=booking, actor=client_user)

    with django_capture_on_commit_callbacks(execute=True):
        services.payment_event_record(event=simulated_success_event(payment))

    assert Booking.objects.get(pk=booking.pk).status == "cancelled"
    assert refunds_of(booking) == [(5000, "the booking was cancelled before the payment arrived")]
    assert not [m for m in mail.outbox if "someone else" in m.body]


def test_a_payment_refunded_at_stripe_before_it_arrived_is_not_refunded_again(
    paid, client_user, django_capture_on_commit_callbacks
):
    booking = paid()
    extras = services.extras_payment_start(
        booking=booking, actor=client_user, amount_minor=3000, key="extra-photos"
    )
    services.booking_cancel(booking=booking, actor=client_user)
    refunded_at_stripe = {
        "id": "evt_refunded",
        "type": "charge.refunded",
        "data": {
            "object": {"id": "ch_1", "payment_intent": extras.intent_id, "amount_refunded": 3000}
        },
    }

    with django_capture_on_commit_callbacks(execute=True):
        services.payment_event_record(event=refunded_at_stripe)
        services.payment_event_record(event=simulated_success_event(extras))

    extras.refresh_from_db()
    assert (extras.status, extras.refunded_minor) == ("succeeded", 3000)
    # Ours for the deposit only; the extras' refund, made at Stripe, recorded as it is.
    assert refunds_of(booking) == [
        (5000, "cancelled by the client"),
        (3000, "made at the payment provider"),
    ]
    assert Refund.objects.get(payment=extras).status == "sent"  # never sent again by us
    refunded = [AuditEvent.Kind.REFUND_RECORDED, AuditEvent.Kind.REFUNDED_AT_PROVIDER]
    history = booking_history(booking_id=booking.pk)
    assert not history.filter(kind__in=refunded, details__amount_minor=0).exists()


def test_rescheduling_a_paid_booking_charges_nothing_more(paid, client_user, at):
    booking = paid(10)

    services.booking_reschedule(booking=booking, actor=client_user, start=at(14))

    booking.refresh_from_db()
    assert booking.start == at(14)
    assert [(p.kind, p.amount_minor, p.status) for p in Payment.objects.all()] == [
        ("deposit", 5000, "succeeded")
    ]
    assert not Refund.objects.exists()


# --- The studio's refunds --------------------------------------------------------------------


def test_staff_refund_part_of_a_payment_from_the_booking_page(staff_browser, paid):
    booking = paid()
    payment = Payment.objects.get()

    response = staff_browser.post(f"/payments/{payment.pk}/refund/", refund_form("20.00"))

    assert response.status_code == 302
    assert refunds_of(booking) == [(2000, "Goodwill")]
    page = staff_browser.get(f"/bookings/{booking.pk}/").content.decode()
    assert payment.intent_id in page and Refund.objects.get().provider_refund_id in page
    assert "−20.00 EUR" in page
    assert Booking.objects.get(pk=booking.pk).status == "confirmed"  # a refund is not a cancel


def test_the_same_refund_form_sent_twice_refunds_once(staff_browser, paid):
    paid()
    payment = Payment.objects.get()
    form = refund_form("20.00", key=str(uuid.uuid4()))

    staff_browser.post(f"/payments/{payment.pk}/refund/", form)
    staff_browser.post(f"/payments/{payment.pk}/refund/", form)

    assert Refund.objects.count() == 1
    assert Payment.objects.get().refunded_minor == 2000


@pytest.mark.parametrize(
    "amount, reason, message",
    [
        ("50.01", "Too much", "at most 50.00 EUR"),
        ("0", "Nothing", "Ensure this value is greater than or equal to 0.01"),
        ("-5", "Negative", "Ensure this value is greater than or equal to 0.01"),
        ("ten", "Words", "Enter a number"),
        ("1.001", "Fractions of a cent", "no more than 2 decimal places"),
        ("10.00", "", "This field is required"),
    ],
)
def test_bad_refunds_are_refused_with_a_reason(staff_browser, paid, amount, reason, message):
    booking = paid()
    payment = Payment.objects.get()

    response = staff_browser.post(
        f"/payments/{payment.pk}/refund/", refund_form(amount, reason), follow=True
    )

    assert message in response.content.decode()
    assert refunds_of(booking) == []


def test_refunds_stop_at_what_was_paid(staff_browser, paid):
    booking = paid()
    payment = Payment.objects.get()

    staff_browser.post(f"/payments/{payment.pk}/refund/", refund_form("30.00"))
    staff_browser.post(f"/payments/{payment.pk}/refund/", refund_form("20.00"))
    page = staff_browser.post(
        f"/payments/{payment.pk}/refund/", refund_form("0.01"), follow=True
    ).content.decode()

    assert "Nothing of this payment is left to refund." in page
    assert sum(amount for amount, _ in refunds_of(booking)) == 5000


def test_only_the_studios_staff_refund(client, paid, client_user, photographer):
    paid()
    payment = Payment.objects.get()
    other_staff = StaffFactory(studio=StudioFactory())

    for user, status in [(client_user, 302), (photographer, 302), (other_staff, 404)]:
        client.force_login(user)
        response = client.post(f"/payments/{payment.pk}/refund/", refund_form("10.00"))
        assert response.status_code == status
    client.logout()
    assert client.post(f"/payments/{payment.pk}/refund/", refund_form("10.00")).status_code == 302
    assert not Refund.objects.exists()


def test_api_refund_with_an_idempotency_key_refunds_once(paid, staff):
    booking = paid()
    payment = Payment.objects.get()
    api = APIClient()
    api.force_authenticate(staff)

    responses = [
        api.post(
            f"/api/payments/{payment.pk}/refunds/",
            {"amount_minor": 1500, "reason": "Late start"},
            HTTP_IDEMPOTENCY_KEY="refund-late-start",
        )
        for _ in range(2)
    ]

    assert [r.status_code for r in responses] == [201, 201]
    assert responses[0].json()["id"] == responses[1].json()["id"]
    history = api.get(f"/api/bookings/{booking.pk}/payments/").json()
    (deposit,) = history
    assert deposit["refunded"] == {"amount_minor": 1500, "currency": "EUR"}
    assert [r["amount"]["amount_minor"] for r in deposit["refunds"]] == [1500]


def test_one_idempotency_key_on_two_payments_refunds_both(paid, staff):
    first, second = paid(10), paid(14)
    payments = [Payment.objects.get(booking=b) for b in (first, second)]
    api = APIClient()
    api.force_authenticate(staff)

    responses = [
        api.post(
            f"/api/payments/{payment.pk}/refunds/",
            {"amount_minor": 1500, "reason": "Late start"},
            HTTP_IDEMPOTENCY_KEY="k1",
        )
        for payment in payments
    ]

    assert [r.status_code for r in responses] == [201, 201]
    assert responses[0].json()["id"] != responses[1].json()["id"]
    assert refunds_of(first) == refunds_of(second) == [(1500, "Late start")]
    assert [p.refunded_minor for p in Payment.objects.order_by("pk")] == [1500, 1500]


@pytest.mark.parametrize("key", ["k" * 65, "has space", "semi;colon", "ünïcode"])
def test_api_refuses_a_malformed_idempotency_key(paid, staff, key):
    paid()
    payment = Payment.objects.get()
    api = APIClient()
    api.force_authenticate(staff)

    response = api.post(
        f"/api/payments/{payment.pk}/refunds/",
        {"amount_minor": 1500, "reason": "Late start"},
        HTTP_IDEMPOTENCY_KEY=key,
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_idempotency_key"
    assert "64" in response.json()["error"]["message"]
    assert not Refund.objects.exists()


def test_api_refuses_a_client_refunding_themselves(api, paid):
    paid()
    payment = Payment.objects.get()

    response = api.post(
        f"/api/payments/{payment.pk}/refunds/", {"amount_minor": 5000, "reason": "Mine"}
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "studio_staff_only"


def test_unsent_refunds_are_sent_again_by_the_sweep(paid, client_user):
    booking = paid()
    payment = Payment.objects.get()
    stuck = Refund.objects.create(
        payment=payment, amount_minor=1000, reason="worker died", idempotency_key="stuck"
    )
    Refund.objects.filter(pk=stuck.pk).update(created_at=stuck.created_at - timedelta(hours=1))

    assert refunds_retry_task.delay().get() == 1

    assert Refund.objects.get(pk=stuck.pk).provider_refund_id.startswith("re_testmode_")
    assert refunds_retry_task.delay().get() == 0
    assert booking.pk


# --- The balance -----------------------------------------------------------------------------


def test_the_balance_is_asked_for_after_the_session_and_paid_from_the_link(
    client, client_user, paid, django_capture_on_commit_callbacks
):
    booking = paid()
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert services.booking_complete_finished(now=booking.end + timedelta(minutes=1)) == 1
    (request,) = mail.outbox
    assert "150.00 EUR" in request.body
    link = next(word for word in request.body.split() if "/balance/" in word)
    client.force_login(client_user)

    response = client.post(link.removeprefix("http://testserver"))
    balance = Payment.objects.get(kind="balance")
    assert response.url == f"/payments/{balance.pk}/" and balance.amount_minor == 15000
    with django_capture_on_commit_callbacks(execute=True):
        client.post(response.url, {"outcome": "succeed"})

    balance.refresh_from_db()
    assert balance.status == "succeeded"
    assert Booking.objects.get(pk=booking.pk).status == "completed"
    receipts = [m for m in mail.outbox if m.subject.startswith("Receipt P-")]
    assert [m.subject.split(":")[1].strip() for m in receipts] == [
        f"balance received, {booking.session_type.name}"
    ]
    page = client.get(f"/bookings/{booking.pk}/balance/").content.decode()
    assert "paid in full" in page


def test_no_balance_e_mail_when_nothing_is_due(
    client_user, session_type, photographer, at, django_capture_on_commit_callbacks
):
    session_type.price_minor = session_type.deposit_minor = 5000
    session_type.save()
    booking = services.booking_hold(client=client_user, session_type=session_type, start=at(10))
    payment = services.payment_start(booking=booking, actor=client_user)
    with django_capture_on_commit_callbacks(execute=True):
        services.payment_event_record(event=simulated_success_event(payment))
    mail.outbox.clear()
    booking.refresh_from_db()

    with django_capture_on_commit_callbacks(execute=True):
        services.booking_complete_finished(now=booking.end + timedelta(minutes=1))

    assert mail.outbox == []
    with pytest.raises(services.BookingError) as error:
        services.balance_payment_start(booking=booking, actor=client_user)
    assert error.value.code == "nothing_due"


def test_completing_twice_asks_for_the_balance_once(paid, django_capture_on_commit_callbacks):
    booking = paid()
    mail.outbox.clear()

    assert booking_complete_finished_task.delay().get() == 0  # not finished yet
    later = booking.end + timedelta(minutes=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.booking_complete_finished(now=later) == 1
        assert services.booking_complete_finished(now=later) == 0
    assert [m.subject for m in mail.outbox] == [
        f"The balance for your session: {booking.session_type.name}"
    ]


def test_the_balance_cannot_be_paid_before_the_booking_is_confirmed(
    client_user, deposit_type, photographer, at
):
    booking = services.booking_hold(client=client_user, session_type=deposit_type, start=at(10))

    with pytest.raises(services.BookingError) as error:
        services.balance_payment_start(booking=booking, actor=client_user)
    assert error.value.code == "not_payable"


def test_api_opens_the_balance_payment_once(api, paid):
    booking = paid()

    first = api.post(f"/api/bookings/{booking.pk}/balance-payment/")
    again = api.post(f"/api/bookings/{booking.pk}/balance-payment/")

    assert first.json()["amount"] == {"amount_minor": 15000, "currency": "EUR"}
    assert first.json()["id"] == again.json()["id"]
    assert Payment.objects.filter(kind="balance").count() == 1


# --- Receipts --------------------------------------------------------------------------------


def test_receipts_are_for_the_client_and_the_studio_only(client, paid, client_user, other_client):
    booking = paid()
    payment = Payment.objects.get()
    services.booking_cancel(booking=booking, actor=client_user)
    refund = Refund.objects.get()
    urls = [f"/payments/{payment.pk}/receipt/", f"/refunds/{refund.pk}/receipt/"]
    own_staff = StaffFactory(studio=booking.studio)
    foreign_staff = StaffFactory(studio=StudioFactory())

    for user, status in [(client_user, 200), (own_staff, 200), (other_client, 404)]:
        client.force_login(user)
        assert [client.get(url).status_code for url in urls] == [status, status]
    client.force_login(foreign_staff)
    assert [client.get(url).status_code for url in urls] == [404, 404]
    client.logout()
    assert [client.get(url).status_code for url in urls] == [302, 302]


def test_a_receipt_shows_the_money_and_says_test_mode(client, paid, client_user):
    paid()
    payment = Payment.objects.get()
    client.force_login(client_user)

    page = client.get(f"/payments/{payment.pk}/receipt/").content.decode()

    assert f"Receipt P-{payment.pk:06d}" in page and "50.00 EUR" in page
    assert "Test mode — no real money." in page and payment.intent_id in page


def test_no_receipt_for_a_payment_that_has_not_gone_through(
    client, client_user, deposit_type, photographer, at
):
    booking = services.booking_hold(client=client_user, session_type=deposit_type, start=at(10))
    payment = services.payment_start(booking=booking, actor=client_user)
    client.force_login(client_user)

    assert client.get(f"/payments/{payment.pk}/receipt/").status_code == 404


# --- Refunds the provider reports --------------------------------------------------------------


def refunded_at_stripe(payment: Payment, n: int, amount_refunded: int, *listed: dict) -> dict:
    """Stripe's `charge.refunded` for `payment`: the charge's total refunded so far and, as
    older API versions send, its refunds."""
    charge = {"id": "ch_1", "payment_intent": payment.intent_id, "amount_refunded": amount_refunded}
    if listed:
        charge["refunds"] = {"object": "list", "data": list(listed)}
    return {"id": f"evt_refunded_{n}", "type": "charge.refunded", "data": {"object": charge}}


def report(client, event: dict, capture) -> None:
    with capture(execute=True):
        assert deliver(client, event).status_code == 200


def test_a_deposit_refunded_at_stripe_cancels_and_tells_the_client(
    client, stripe_webhooks, paid, django_capture_on_commit_callbacks
):
    booking = paid()
    payment = Payment.objects.get()
    mail.outbox.clear()

    report(
        client,
        refunded_at_stripe(payment, 1, 5000, {"id": "re_dash_1", "amount": 5000}),
        django_capture_on_commit_callbacks,
    )

    assert Booking.objects.get(pk=booking.pk).status == "cancelled"
    cancellation = next(m for m in mail.outbox if m.subject.startswith("Your session is cancelled"))
    assert "Reason: The payment was refunded." in cancellation.body
    assert "We refund 50.00 EUR of your deposit" in cancellation.body
    assert [a[2].split(";")[0] for a in cancellation.attachments] == ["text/calendar"]
    refund = Refund.objects.get()
    assert (refund.amount_minor, refund.provider_refund_id, refund.status) == (
        5000,
        "re_dash_1",
        "sent",
    )
    receipt = next(m for m in mail.outbox if m.subject.startswith(f"Receipt R-{refund.pk:06d}"))
    assert "we have refunded 50.00 EUR" in receipt.body and "re_dash_1" in receipt.body
    assert subjects().count(cancellation.subject) == 1


def test_refunds_made_in_the_dashboard_are_recorded_once_each(
    client, stripe_webhooks, staff_browser, paid, django_capture_on_commit_callbacks
):
    booking = paid()
    payment = Payment.objects.get()
    mail.outbox.clear()
    first = {"id": "re_dash_1", "amount": 2000, "status": "succeeded"}
    second = {"id": "re_dash_2", "amount": 1000, "status": "succeeded"}

    for event in [
        refunded_at_stripe(payment, 2, 3000, second, first),  # the later report comes first
        refunded_at_stripe(payment, 1, 2000, first),
        refunded_at_stripe(payment, 2, 3000, second, first),  # delivered again
        refunded_at_stripe(payment, 3, 3000, second, first),  # reported again, as a new event
    ]:
        report(client, event, django_capture_on_commit_callbacks)

    assert sorted((r.provider_refund_id, r.amount_minor) for r in Refund.objects.all()) == [
        ("re_dash_1", 2000),
        ("re_dash_2", 1000),
    ]
    assert Payment.objects.get().refunded_minor == 3000
    assert Booking.objects.get(pk=booking.pk).status == "confirmed"  # not all of the deposit
    assert sorted(m.body.split("refunded ")[1].split(" to you")[0] for m in mail.outbox) == [
        "10.00 EUR",
        "20.00 EUR",
    ]
    page = staff_browser.get(f"/bookings/{booking.pk}/").content.decode()
    assert "re_dash_1" in page and "re_dash_2" in page and "made at the payment provider" in page


def test_our_own_refunds_reported_back_are_not_counted_twice(
    client, stripe_webhooks, staff_browser, paid, django_capture_on_commit_callbacks
):
    paid()
    payment = Payment.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        staff_browser.post(f"/payments/{payment.pk}/refund/", refund_form("20.00"))
    sent = Refund.objects.get()
    with django_capture_on_commit_callbacks(execute=False):  # recorded, not yet sent
        services.booking_cancel(booking=payment.booking, actor=payment.booking.client)
    sending = Refund.objects.exclude(pk=sent.pk).get()
    ours = [
        {"id": sent.provider_refund_id, "amount": 2000},
        # Not yet back from Stripe on our side: told apart by the key in its metadata.
        {
            "id": "re_in_flight",
            "amount": 3000,
            "metadata": {"idempotency_key": sending.idempotency_key},
        },
    ]

    report(client, refunded_at_stripe(payment, 1, 5000, *ours), django_capture_on_commit_callbacks)

    assert Refund.objects.count() == 2 and Payment.objects.get().refunded_minor == 5000


def test_a_refund_reported_without_its_list_is_recorded_by_amount(
    client, stripe_webhooks, paid, django_capture_on_commit_callbacks
):
    paid()
    payment = Payment.objects.get()

    report(client, refunded_at_stripe(payment, 1, 1500), django_capture_on_commit_callbacks)
    report(client, refunded_at_stripe(payment, 2, 1500), django_capture_on_commit_callbacks)

    (refund,) = Refund.objects.all()
    assert (refund.amount_minor, refund.status, refund.provider_refund_id) == (1500, "sent", "")
    assert Payment.objects.get().refunded_minor == 1500
    assert any(m.subject.startswith(f"Receipt R-{refund.pk:06d}") for m in mail.outbox)


def test_the_client_is_told_when_a_refund_reported_early_cancels_the_booking(
    client,
    stripe_webhooks,
    client_user,
    deposit_type,
    photographer,
    at,
    django_capture_on_commit_callbacks,
):
    booking = services.booking_hold(client=client_user, session_type=deposit_type, start=at(10))
    payment = services.payment_start(booking=booking, actor=client_user)

    report(client, refunded_at_stripe(payment, 1, 5000), django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        services.payment_event_record(event=simulated_success_event(payment))

    assert Booking.objects.get(pk=booking.pk).status == "cancelled"
    assert subjects().count(f"Your session is cancelled: {deposit_type.name}") == 1
    assert f"Your session is booked: {deposit_type.name}" not in subjects()


# --- Cancelling a booking that is not paid yet -------------------------------------------------


def test_cancelling_an_unpaid_booking_closes_its_payment(
    client, client_user, deposit_type, photographer, at, django_capture_on_commit_callbacks
):
    booking = services.booking_hold(client=client_user, session_type=deposit_type, start=at(10))
    payment = services.payment_start(booking=booking, actor=client_user)

    with django_capture_on_commit_callbacks(execute=True):
        services.booking_cancel(booking=booking, actor=client_user)

    assert Payment.objects.get(pk=payment.pk).status == "cancelled"
    client.force_login(client_user)
    page = client.get(f"/payments/{payment.pk}/", follow=True)
    assert "This payment is no longer due" in page.content.decode()
    assert not Refund.objects.exists()
