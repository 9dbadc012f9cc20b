from rest_framework.routers import SimpleRouter

from .views import AttributeViewSet, ProductTypeViewSet

router = SimpleRouter()
router.register("attributes", AttributeViewSet, basename="attribute")
router.register("product-types", ProductTypeViewSet, basename="product-type")

urlpatterns = router.urls
