"""factory_boy factories for our models; tests override only what they are about."""

from __future__ import annotations

import datetime
import itertools

import factory
from django.contrib.auth import get_user_model

from guilds.models import Channel, Guild, MemberOptOut
from summaries.engine.offline import MODEL_NAME as OFFLINE_MODEL
from summaries.models import Schedule, Summary, SummaryJob
from webhooks.models import WebhookDestination

_snowflakes = itertools.count(1_100_000_000_000_000_000)


def snowflake() -> int:
    return next(_snowflakes)


class GuildFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Guild

    id = factory.LazyFunction(snowflake)
    name = factory.Sequence(lambda n: f"Guild {n}")
    bot_present = True


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Channel

    id = factory.LazyFunction(snowflake)
    guild = factory.SubFactory(GuildFactory)
    name = factory.Sequence(lambda n: f"channel-{n}")


class MemberOptOutFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MemberOptOut

    user_id = factory.LazyFunction(snowflake)
    guild = factory.SubFactory(GuildFactory)


class SummaryJobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SummaryJob

    guild = factory.SubFactory(GuildFactory)
    channel_id = factory.LazyFunction(snowflake)
    source = "api"
    window_kind = "count"
    message_limit = 100


class SummaryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Summary

    guild = factory.SubFactory(GuildFactory)
    channel_id = factory.LazyFunction(snowflake)
    format = "brief"
    language = "en"
    provider = "local"
    model = OFFLINE_MODEL
    markdown = "- A point [1]"


class WebhookDestinationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookDestination

    guild = factory.SubFactory(GuildFactory)
    name = factory.Sequence(lambda n: f"destination {n}")
    kind = "webhook"
    url = "https://example.invalid/hook"
    secret = "whsec_test_secret"
    events = ["summary.completed"]


class ScheduleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Schedule

    guild = factory.SubFactory(GuildFactory)
    name = factory.Sequence(lambda n: f"schedule {n}")
    channel_ids = factory.LazyFunction(lambda: [snowflake()])
    frequency = "daily"
    time_of_day = datetime.time(9, 0)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.invalid")
    is_staff = True
    is_superuser = True
    password = factory.django.Password("correct horse battery staple")
