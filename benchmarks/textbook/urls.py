from django.urls import path

from . import views

urlpatterns = [
    path("api/v1/products/", views.ProductList.as_view()),
    path("api/v1/products/<int:pk>/", views.ProductDetail.as_view()),
]
