"""Create (or keep) the dev superuser and print its credentials. Refuses outside DEBUG."""

import secrets
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.users.models import User

EMAIL = "admin@example.com"


class Command(BaseCommand):
    help = "Create the dev superuser admin@example.com and print its password (DEBUG only)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("ensure_dev_superuser runs only with DEBUG on (dev settings).")
        # The password lives in the git-ignored data folder, so every `make run` can print it.
        password_file = settings.BASE_DIR / ".data" / "dev-admin-password"
        password_file.parent.mkdir(parents=True, exist_ok=True)
        user = User.objects.filter(email=EMAIL).first()
        password = password_file.read_text().strip() if password_file.exists() else ""
        if user is None or not password or not user.check_password(password):
            password = secrets.token_urlsafe(12)
            if user is None:
                user = User.objects.create_superuser(
                    email=EMAIL, username="admin", password=password
                )
            else:
                user.set_password(password)
                user.save(update_fields=["password"])
            password_file.write_text(password + "\n")
            password_file.chmod(0o600)
        self.stdout.write(
            self.style.SUCCESS(f"Dev superuser: {EMAIL} / {password}  (admin at /admin/)")
        )
