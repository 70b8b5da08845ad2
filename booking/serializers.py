"""Booking's outputs that other apps' APIs show too: money, and a payment to make."""

from django.conf import settings
from django.urls import reverse
from rest_framework import serializers


class MoneySerializer(serializers.Serializer):
    amount_minor = serializers.IntegerField()
    currency = serializers.CharField()


class PaymentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    provider = serializers.CharField(help_text="stripe, or test_mode (no real money)")
    status = serializers.CharField()
    amount = serializers.SerializerMethodField()
    client_secret = serializers.CharField(help_text="For Stripe.js' Payment Element.")
    publishable_key = serializers.SerializerMethodField()
    pay_url = serializers.SerializerMethodField()

    def get_amount(self, obj) -> MoneySerializer:
        return {"amount_minor": obj.amount_minor, "currency": obj.currency}

    def get_publishable_key(self, obj) -> str:
        return settings.STRIPE_PUBLISHABLE_KEY

    def get_pay_url(self, obj) -> str:
        return reverse("payment_pay", args=[obj.pk])
