from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "apps.reviews"
    verbose_name = "Reviews"

    def ready(self) -> None:
        # Imported here: services imports the models, which are not loaded when this module is.
        from apps.users.services import register_account_deletion_step  # noqa: PLC0415

        from .services import reviews_delete_for_user  # noqa: PLC0415

        # users cannot import reviews (the layering), so reviews hands it the step that takes a
        # deleted account's reviews out of the products' rating figures.
        register_account_deletion_step(reviews_delete_for_user)
