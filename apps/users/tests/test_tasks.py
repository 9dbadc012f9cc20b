"""The accounts' periodic upkeep, as the worker runs it: expired refresh tokens, spent login
records."""

from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from apps.users.models import User
from apps.users.tasks import login_records_prune_job, refresh_tokens_flush_job


@pytest.mark.django_db
def test_expired_refresh_tokens_go_with_their_blacklist_entries_live_ones_stay(
    user: User,
) -> None:
    expired, blacklisted_expired, live = (RefreshToken.for_user(user) for _ in range(3))
    OutstandingToken.objects.filter(jti__in=[expired["jti"], blacklisted_expired["jti"]]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    blacklisted_expired.blacklist()
    live.blacklist()

    refresh_tokens_flush_job(timestamp=0)

    assert list(OutstandingToken.objects.values_list("jti", flat=True)) == [live["jti"]]
    assert BlacklistedToken.objects.get().token.jti == live["jti"]


def backdate(model: Any, seconds: int, **fields: Any) -> Any:
    row = model.objects.create(
        user_agent="test", ip_address="192.0.2.1", username=f"{seconds}@example.com", **fields
    )
    model.objects.filter(pk=row.pk).update(attempt_time=timezone.now() - timedelta(seconds=seconds))
    return row


@pytest.mark.django_db
def test_spent_failure_counts_and_old_login_logs_go(settings: Any) -> None:
    settings.LOGIN_RECORDS_KEEP_DAYS = 30
    cool_off = int(settings.AXES_COOLOFF_TIME.total_seconds())
    counting = {"get_data": "", "post_data": "", "failures_since_start": 3}
    spent = backdate(AccessAttempt, cool_off + 60, **counting)
    locking = backdate(AccessAttempt, cool_off - 60, **counting)
    old_log = backdate(AccessLog, 31 * 86400)
    recent_log = backdate(AccessLog, 29 * 86400)
    old_failure = backdate(AccessFailureLog, 31 * 86400, locked_out=True)
    recent_failure = backdate(AccessFailureLog, 86400, locked_out=False)

    login_records_prune_job(timestamp=0)

    assert list(AccessAttempt.objects.values_list("pk", flat=True)) == [locking.pk]
    assert list(AccessLog.objects.values_list("pk", flat=True)) == [recent_log.pk]
    assert list(AccessFailureLog.objects.values_list("pk", flat=True)) == [recent_failure.pk]
    assert spent.pk != locking.pk and old_log.pk and old_failure.pk
