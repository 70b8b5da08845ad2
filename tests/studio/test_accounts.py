"""Accounts: sign-up, login, logout, password reset by e-mail."""

import re

from django.core import mail

from studio.models import User
from tests.factories import PASSWORD, UserFactory


def test_sign_up_creates_a_client_and_logs_in(client, db):
    response = client.post(
        "/signup/",
        {
            "full_name": "Dana Client",
            "email": "Dana@Example.com",
            "password": PASSWORD,
            "time_zone": "Asia/Tokyo",
            "next": "/bookings/",
        },
    )

    assert response.status_code == 302 and response.url == "/bookings/"
    user = User.objects.get()
    assert (user.email, user.role, user.time_zone) == ("dana@example.com", "client", "Asia/Tokyo")
    assert client.get("/bookings/").status_code == 200


def test_sign_up_refuses_taken_emails_weak_passwords_and_foreign_redirects(client, db):
    UserFactory(email="taken@example.com")

    taken = client.post(
        "/signup/", {"full_name": "A", "email": "TAKEN@example.com", "password": PASSWORD}
    )
    weak = client.post("/signup/", {"full_name": "B", "email": "b@example.com", "password": "123"})
    foreign = client.post(
        "/signup/",
        {
            "full_name": "C",
            "email": "c@example.com",
            "password": PASSWORD,
            "next": "https://evil.example/",
        },
    )

    assert "exists already" in taken.content.decode()
    assert "too short" in weak.content.decode()
    assert foreign.url == "/"
    assert User.objects.count() == 2


def test_login_and_logout(client, client_user):
    response = client.post("/login/", {"username": "client@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/bookings/").status_code == 200

    client.post("/logout/")
    assert client.get("/bookings/").status_code == 302


def test_wrong_password_is_refused(client, client_user):
    response = client.post("/login/", {"username": "client@example.com", "password": "wrong"})

    assert response.status_code == 200
    assert "correct" in response.content.decode()


def test_password_reset_by_email(client, client_user):
    client.post("/password-reset/", {"email": "client@example.com"})

    (message,) = mail.outbox
    link = re.search(r"http://testserver(/password-reset/\S+/)", message.body).group(1)
    form_url = client.get(link).url  # Django swaps the token for a session-bound URL
    client.post(
        form_url, {"new_password1": "brand-new-secret-42", "new_password2": "brand-new-secret-42"}
    )

    client_user.refresh_from_db()
    assert client_user.check_password("brand-new-secret-42")


def test_password_reset_for_unknown_email_reveals_nothing(client, db):
    response = client.post("/password-reset/", {"email": "nobody@example.com"}, follow=True)

    assert "Check your e-mail" in response.content.decode()
    assert mail.outbox == []
