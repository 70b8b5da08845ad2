"""The gallery-ready e-mail, promised through `studio.outbox` at a gallery's first publish and
composed here by `outbound_email_message` when its turn comes."""

from django.conf import settings
from django.core.mail import EmailMessage

from booking.emails import _email_to_client
from studio.models import OutboundEmail

from .models import Gallery


def outbound_email_message(email: OutboundEmail) -> EmailMessage | None:
    """Compose the e-mail as it reads now; None once the gallery is gone or closed.

    It carries the gallery's page, which the client opens from their account: the secret link's
    token is not kept (only its hash), so it cannot be sent again.
    """
    gallery = (
        Gallery.objects.select_related("booking__session_type__studio", "booking__client")
        .filter(booking_id=email.booking_id)
        .first()
    )
    if gallery is None or not gallery.is_open():
        return None
    return _email_to_client(
        gallery.booking,
        f"Your photos are ready: {gallery.title}",
        "delivery/email/gallery_ready.txt",
        {"gallery": gallery, "url": settings.SITE_URL + gallery.get_absolute_url()},
    )
