import factory

from apps.webhooks.models import Subscription
from apps.webhooks.signing import secret_generate


class SubscriptionFactory(factory.django.DjangoModelFactory[Subscription]):
    class Meta:
        model = Subscription

    target_url = "http://127.0.0.1:9/hook"
    event_types = factory.LazyFunction(lambda: ["product.created", "product.updated"])
    secret = factory.LazyFunction(secret_generate)
