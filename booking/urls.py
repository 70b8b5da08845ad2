from django.urls import path

from . import apis, views

urlpatterns = [
    path("", views.home, name="home"),
    path("book/<int:session_type_id>/", views.slots, name="slots"),
    path("book/<int:session_type_id>/hold/", views.hold, name="hold"),
    path("bookings/", views.my_bookings, name="my_bookings"),
    path("bookings/<int:pk>/", views.booking_detail, name="booking_detail"),
    path("bookings/<int:pk>/details/", views.details, name="booking_details"),
    path("bookings/<int:pk>/cancel/", views.cancel, name="booking_cancel"),
    path("bookings/<int:pk>/reschedule/", views.reschedule, name="booking_reschedule"),
    path("schedule/", views.schedule, name="schedule"),
    path("bookings/<int:pk>/balance/", views.balance, name="booking_balance"),
    path("payments/<int:pk>/", views.pay, name="payment_pay"),
    path("payments/<int:pk>/refund/", views.refund, name="payment_refund"),
    path("payments/<int:pk>/receipt/", views.payment_receipt, name="payment_receipt"),
    path("refunds/<int:pk>/receipt/", views.refund_receipt, name="refund_receipt"),
    path("payments/stripe/webhook/", views.stripe_webhook, name="stripe_webhook"),
]

api_urlpatterns = [
    path("session-types/", apis.SessionTypeListApi.as_view(), name="api_session_types"),
    path(
        "session-types/<int:session_type_id>/slots/", apis.SlotListApi.as_view(), name="api_slots"
    ),
    path("bookings/", apis.BookingListApi.as_view(), name="api_bookings"),
    path("bookings/<int:pk>/", apis.BookingDetailApi.as_view(), name="api_booking"),
    path(
        "bookings/<int:pk>/confirm/", apis.BookingConfirmApi.as_view(), name="api_booking_confirm"
    ),
    path("bookings/<int:pk>/cancel/", apis.BookingCancelApi.as_view(), name="api_booking_cancel"),
    path(
        "bookings/<int:pk>/payment/", apis.BookingPaymentApi.as_view(), name="api_booking_payment"
    ),
    path(
        "bookings/<int:pk>/payments/",
        apis.BookingPaymentListApi.as_view(),
        name="api_booking_payments",
    ),
    path(
        "bookings/<int:pk>/balance-payment/",
        apis.BalancePaymentApi.as_view(),
        name="api_booking_balance_payment",
    ),
    path("payments/<int:pk>/refunds/", apis.PaymentRefundApi.as_view(), name="api_payment_refunds"),
    path(
        "bookings/<int:pk>/reschedule/",
        apis.BookingRescheduleApi.as_view(),
        name="api_booking_reschedule",
    ),
    path("schedule/", apis.ScheduleApi.as_view(), name="api_schedule"),
]
