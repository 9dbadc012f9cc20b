"""The dev superuser `make run` creates (ensure_dev_superuser): once, and never without DEBUG."""

import pytest
from django.core.management import CommandError, call_command

from apps.users.models import User

pytestmark = pytest.mark.django_db


def test_dev_superuser_is_created_once_and_its_password_printed(settings, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    settings.DEBUG = True
    settings.BASE_DIR = tmp_path

    call_command("ensure_dev_superuser")
    call_command("ensure_dev_superuser")

    printed = capsys.readouterr().out.splitlines()
    password = (tmp_path / ".data" / "dev-admin-password").read_text().strip()
    assert printed[0] == printed[1]
    assert password in printed[0]
    admin = User.objects.get(email="admin@example.com")
    assert admin.is_superuser and admin.check_password(password)


def test_dev_superuser_refuses_without_debug(settings) -> None:  # type: ignore[no-untyped-def]
    settings.DEBUG = False

    with pytest.raises(CommandError):
        call_command("ensure_dev_superuser")
    assert not User.objects.exists()
