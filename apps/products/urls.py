from rest_framework.routers import SimpleRouter

from .views import CategoryViewSet, ProductImageViewSet, ProductViewSet

router = SimpleRouter()
router.register("categories", CategoryViewSet, basename="category")
router.register("products", ProductViewSet, basename="product")
router.register(
    r"products/(?P<product_pk>\d+)/images", ProductImageViewSet, basename="product-image"
)

urlpatterns = router.urls
