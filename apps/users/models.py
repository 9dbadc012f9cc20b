from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models
from django.db.models.functions import Lower

from apps.core.models import TimeStampedModel


class UserManager(DjangoUserManager["User"]):
    """Create users by email; look them up by email whatever its case."""

    use_in_migrations = True

    def _create_user_object(
        self, username: str, email: str | None, password: str | None, **extra_fields: Any
    ) -> "User":
        user = super()._create_user_object(  # type: ignore[misc]  # missing from django-stubs
            username, email, password, **extra_fields
        )
        user.email = self.normalize_email(email).lower()
        return user

    def create_user(  # type: ignore[override]
        self, email: str, username: str, password: str | None = None, **extra_fields: Any
    ) -> "User":
        return super().create_user(username, email, password, **extra_fields)

    def create_superuser(  # type: ignore[override]
        self, email: str, username: str, password: str | None = None, **extra_fields: Any
    ) -> "User":
        return super().create_superuser(username, email, password, **extra_fields)

    def get_by_natural_key(self, username: str | None) -> "User":
        return self.get(email__iexact=username)


class User(TimeStampedModel, AbstractUser):
    """A customer or staff member. Signs in with ``email``; ``username`` is the public name."""

    email = models.EmailField("email address", unique=True)
    phone_number = models.CharField(max_length=32, blank=True)
    is_verified = models.BooleanField(
        default=False, help_text="Whether the user has confirmed that they own the email address."
    )

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = ["username"]

    objects: ClassVar[UserManager] = UserManager()

    class Meta:
        ordering = ["id"]
        constraints = [
            # Two accounts whose email or username differ only by case would be one person.
            models.UniqueConstraint(
                Lower("email"),
                name="users_user_email_ci_unique",
                violation_error_message="A user with this email address already exists.",
            ),
            models.UniqueConstraint(
                Lower("username"),
                name="users_user_username_ci_unique",
                violation_error_message="A user with this username already exists.",
            ),
        ]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = type(self).objects.normalize_email(self.email).lower()
