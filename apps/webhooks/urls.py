from rest_framework.routers import SimpleRouter

from apps.core.fields import ID_PATH_PATTERN

from .views import DeliveryViewSet, SubscriptionViewSet

router = SimpleRouter()
router.register("webhook-subscriptions", SubscriptionViewSet, basename="webhook-subscription")
router.register(
    rf"webhook-subscriptions/(?P<subscription_pk>{ID_PATH_PATTERN})/deliveries",
    DeliveryViewSet,
    basename="webhook-delivery",
)

urlpatterns = router.urls
