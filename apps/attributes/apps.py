from django.apps import AppConfig


class AttributesConfig(AppConfig):
    name = "apps.attributes"
    verbose_name = "Attributes"
