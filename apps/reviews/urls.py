from rest_framework.routers import SimpleRouter

from .views import ProductReviewViewSet, ReviewViewSet

router = SimpleRouter()
router.register("reviews", ReviewViewSet, basename="review")
router.register(
    r"products/(?P<product_pk>\d+)/reviews", ProductReviewViewSet, basename="product-review"
)

urlpatterns = router.urls
