from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo catalogue ``make run`` loads (``load_demo_catalogue``): categories, products,
    users and reviews, so it sits above every app whose rows it creates."""

    name = "apps.demo"
    verbose_name = "Demo catalogue"
