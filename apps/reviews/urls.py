from rest_framework.routers import SimpleRouter

from apps.core.fields import ID_PATH_PATTERN

from .views import ProductReviewViewSet, ReviewViewSet

router = SimpleRouter()
router.register("reviews", ReviewViewSet, basename="review")
router.register(
    rf"products/(?P<product_pk>{ID_PATH_PATTERN})/reviews",
    ProductReviewViewSet,
    basename="product-review",
)

urlpatterns = router.urls
