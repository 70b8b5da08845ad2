from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "delivery"
    verbose_name = "Delivery (galleries and photos)"

    def ready(self):
        from django.conf import settings
        from PIL import Image

        # Pillow's own bomb check (warns above, refuses above twice this) follows our limit.
        Image.MAX_IMAGE_PIXELS = settings.DELIVERY_MAX_IMAGE_PIXELS
