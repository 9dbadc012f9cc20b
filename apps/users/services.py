from django.db import transaction

from apps.reviews.services import reviews_delete_for_user

from .models import User


@transaction.atomic
def user_register(*, email: str, username: str, password: str) -> User:
    """Create a customer account with a hashed password."""
    return User.objects.create_user(email=email, username=username, password=password)


@transaction.atomic
def user_delete(*, user: User) -> None:
    """Delete a user and their reviews, keeping every product's rating figures exact."""
    reviews_delete_for_user(user=user)
    user.delete()
