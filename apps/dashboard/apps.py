from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """The admin's front page: the catalogue's figures of the day, above the apps it reads
    (products, reviews), so that none of them imports another upward to show them."""

    name = "apps.dashboard"
    verbose_name = "Dashboard"
