"""Secrets from Secrets Manager (moto), cached for a bounded time, never shown; settings validation."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.config import Config

from netguard.config.notify import DedupMode, PagerDutySettings, SlackMode, SlackSettings
from netguard.errors import ConfigError
from netguard.notify import SecretCache, SecretInvalid, SecretUnavailable
from netguard.notify.secrets import Secret
from netguard_cli.localstack.processes import free_port
from tests.support.aws import MotoServer


class TestSecretCache:
    def test_reads_json_or_plain_and_caches(self, aws_env: MotoServer) -> None:
        """A JSON secret yields its key, a plain one itself; reads within max_age hit the cache."""
        client = boto3.client("secretsmanager")
        json_arn = client.create_secret(Name="slack", SecretString=json.dumps({"token": "xoxb-1"}))["ARN"]
        plain_arn = client.create_secret(Name="pd", SecretString="routingkey123")["ARN"]
        cache = SecretCache(client, ttl_seconds=300)
        assert cache.get(json_arn, "token").reveal() == "xoxb-1"
        assert cache.get(plain_arn, "routing_key").reveal() == "routingkey123"
        client.put_secret_value(SecretId=json_arn, SecretString=json.dumps({"token": "xoxb-2"}))
        assert cache.get(json_arn, "token").reveal() == "xoxb-1"
        cache.clear()  # what expiry does after max_age (Powertools' own clock)
        assert cache.get(json_arn, "token").reveal() == "xoxb-2"

    def test_zero_max_age_reads_every_time(self, aws_env: MotoServer) -> None:
        """SECRET_CACHE_SECONDS=0: every read goes to Secrets Manager, so a rotation applies at once."""
        client = boto3.client("secretsmanager")
        arn = client.create_secret(Name="slack0", SecretString="xoxb-1")["ARN"]
        cache = SecretCache(client, ttl_seconds=0)
        assert cache.get(arn, "token").reveal() == "xoxb-1"
        client.put_secret_value(SecretId=arn, SecretString="xoxb-2")
        assert cache.get(arn, "token").reveal() == "xoxb-2"

    def test_unreachable_service_is_retryable_and_names_no_value(self) -> None:
        """A Secrets Manager that cannot be reached is SecretUnavailable (retry), naming the ARN only."""
        client = boto3.client(
            "secretsmanager",
            region_name="us-east-1",
            endpoint_url=f"http://127.0.0.1:{free_port()}",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"max_attempts": 1}, connect_timeout=1),
        )
        with pytest.raises(SecretUnavailable, match="cannot read secret arn:x: EndpointConnectionError"):
            SecretCache(client).get("arn:x", "token")

    def test_missing_secret_or_key_is_permanent(self, aws_env: MotoServer) -> None:
        """A secret that does not exist, or lacks the key, is a permanent error naming no value."""
        client = boto3.client("secretsmanager")
        arn = client.create_secret(
            Name="wrong", SecretString=json.dumps({"webhook_url": "https://h/SECRET"})
        )["ARN"]
        cache = SecretCache(client)
        with pytest.raises(SecretInvalid) as caught:
            cache.get(arn, "token")
        assert "SECRET" not in str(caught.value)
        with pytest.raises(SecretInvalid):
            cache.get("arn:aws:secretsmanager:us-east-1:123456789012:secret:absent", "token")

    def test_secret_never_prints(self) -> None:
        """str, repr and f-strings of a Secret hide the value."""
        secret = Secret("xoxb-very-secret")
        assert "very-secret" not in f"{secret} {secret!r} {[secret]}"


BASE = {"STATE_TABLE": "netguard-state", "SLACK_SECRET_ARN": "arn:slack", "PAGERDUTY_SECRET_ARN": "arn:pd"}


class TestSettings:
    def test_slack_defaults(self) -> None:
        """Bot mode against the public API unless told otherwise."""
        settings = SlackSettings.from_env({**BASE, "SLACK_CHANNEL": "C1"})
        assert (settings.mode, settings.api_url, settings.secret_key) == (
            SlackMode.BOT,
            "https://slack.com/api",
            "token",
        )
        assert SlackSettings.from_env({**BASE, "SLACK_MODE": "webhook"}).secret_key == "webhook_url"

    def test_pagerduty_defaults_and_map(self) -> None:
        """Group dedup, severity map extended from JSON."""
        settings = PagerDutySettings.from_env({**BASE, "PAGERDUTY_SEVERITY_MAP": '{"P1": "critical"}'})
        assert settings.dedup is DedupMode.GROUP
        assert settings.events_url == "https://events.pagerduty.com"
        assert settings.severity_map["p1"] == "critical"
        assert settings.severity_map["warning"] == "warning"

    @pytest.mark.parametrize(
        ("factory", "env", "message"),
        [
            (SlackSettings, {"SLACK_CHANNEL": "C1", "STATE_TABLE": ""}, "STATE_TABLE is required"),
            (SlackSettings, {}, "SLACK_CHANNEL is required when SLACK_MODE=bot"),
            (SlackSettings, {"SLACK_MODE": "irc", "SLACK_CHANNEL": "C"}, "SLACK_MODE='irc' must be one of"),
            (
                SlackSettings,
                {"SLACK_CHANNEL": "C", "SLACK_API_URL": "ftp://x"},
                "SLACK_API_URL must be an http",
            ),
            (
                SlackSettings,
                {"SLACK_CHANNEL": "C", "ALERTMANAGER_URL": "am:9093"},
                "ALERTMANAGER_URL must be",
            ),
            (PagerDutySettings, {"PAGERDUTY_DEFAULT_SEVERITY": "high"}, "PAGERDUTY_DEFAULT_SEVERITY='high'"),
            (PagerDutySettings, {"PAGERDUTY_SEVERITY_MAP": '{"x": "page"}'}, "PAGERDUTY_SEVERITY_MAP['x']"),
            (PagerDutySettings, {"PAGERDUTY_DEDUP": "incident"}, "PAGERDUTY_DEDUP='incident'"),
            (PagerDutySettings, {"PAGERDUTY_SECRET_ARN": ""}, "PAGERDUTY_SECRET_ARN is required"),
            (PagerDutySettings, {"NOTIFY_MAX_ATTEMPTS": "0"}, "NOTIFY_MAX_ATTEMPTS=0 is below"),
        ],
    )
    def test_invalid_values_name_the_variable(
        self, factory: type[SlackSettings | PagerDutySettings], env: dict[str, str], message: str
    ) -> None:
        """Each mistake fails once, at cold start, with the variable's name."""
        with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
            factory.from_env({**BASE, **env})
