"""The AWS rows of the attack table: IAM, topic and key policies of the rendered template (`static`).

Each row is one call someone might make; `cfn.decide` applies the rendered policies to it. The
deployments rendered: the stack's own AMP workspace, or an external one, or none; one or several
configured clusters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from tests.attacks import cfn
from tests.attacks.ledger import LEDGER, Row, Verdict

OWN = {"ClusterName": "prod", "CreateAmpWorkspace": "true"}
EXTERNAL_WS = cfn.workspace_arn("ws-configured")
EXTERNAL = {"ClusterName": "prod", "AmpWorkspaceSourceArn": EXTERNAL_WS, "EksClusterNames": "prod,stage"}
NONE = {"ClusterName": "prod"}
OTHER_WS = cfn.workspace_arn("ws-another-team")
OTHER_ROLE = f"arn:aws:iam::{cfn.ACCOUNT}:role/some-admin"
EVERYTHING = ({"Effect": "Allow", "Action": "*", "Resource": "*"},)
"""The identity policy of another role of the account that may do anything (AdministratorAccess)."""


def _addon(cluster: str, addon: str = "coredns", account: str = cfn.ACCOUNT) -> str:
    return f"arn:aws:eks:eu-west-1:{account}:addon/{cluster}/{addon}/4ac1b2c3-0000-1111-2222-333344445555"


def _aps(source: str) -> dict[str, str]:
    return {"aws:SourceArn": source, "aws:SourceAccount": cfn.ACCOUNT}


@dataclass(frozen=True)
class Attempt:
    name: str
    parameters: Mapping[str, Any]
    principal: str
    action: str
    resource: str  # a logical id (rendered to its ARN) or an ARN
    expected: Verdict
    context: Mapping[str, str] | None = None
    extra_identity: tuple[dict[str, Any], ...] = ()


ENRICH, REMEDIATE = cfn.role_arn("EnrichFunction"), cfn.role_arn("RemediateFunction")
SLACK, PAGERDUTY = cfn.role_arn("NotifySlackFunction"), cfn.role_arn("NotifyPagerDutyFunction")
NOTIFIERS = {
    "SlackSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:slack-AbC123",
    "PagerDutySecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:pd-AbC123",
}

PARTITION_ROWS: list[tuple[str, str, str, str, str, dict[str, str], Verdict]] = [
    (
        "notify_slack",
        SLACK,
        "PutItem",
        "remediate#cluster#prod",
        "takes the remediation lock",
        {},
        "denied",
    ),
    (
        "notify_pagerduty",
        PAGERDUTY,
        "PutItem",
        "remediate#cluster#prod",
        "rewrites the history",
        {},
        "denied",
    ),
    ("enrich", ENRICH, "DeleteItem", "remediate#cluster#prod", "drops the lock", {}, "denied"),
    (
        "notify_pagerduty",
        PAGERDUTY,
        "PutItem",
        "slack#ref#g1",
        "Slack's message reference",
        {},
        "denied",
    ),
    (
        "notify_pagerduty",
        PAGERDUTY,
        "GetItem",
        "slack#parts#g1",
        "Slack's message parts",
        {},
        "denied",
    ),
    (
        "notify_slack",
        SLACK,
        "PutItem",
        "pagerduty#group#g1",
        "PagerDuty's dedup record",
        {},
        "denied",
    ),
    ("remediate", REMEDIATE, "PutItem", "enrich#idem#enrich", "enrich's idempotency", {}, "denied"),
    ("notify_slack", SLACK, "PutItem", "x#slack#ref#g1", "its prefix, not leading", {}, "denied"),
    ("remediate", REMEDIATE, "PutItem", "cluster#prod", "an item of the old scheme", {}, "denied"),
    ("notify_slack", SLACK, "DeleteItem", "group#g1", "an item of the old scheme", {}, "denied"),
    ("enrich", ENRICH, "GetItem", "cluster#prod", "the old scheme's lock", {}, "denied"),
    (
        "remediate",
        REMEDIATE,
        "GetItem",
        "cluster#prod",
        "LegacyStateReads=false",
        {"LegacyStateReads": "false"},
        "denied",
    ),
    (
        "notify_pagerduty",
        PAGERDUTY,
        "GetItem",
        "group#g1",
        "LegacyStateReads=false",
        {"LegacyStateReads": "false"},
        "denied",
    ),
    ("enrich", ENRICH, "PutItem", "enrich#idem#enrich", "", {}, "allowed"),
    ("notify_slack", SLACK, "Query", "slack#parts#g1", "", {}, "allowed"),
    ("notify_pagerduty", PAGERDUTY, "PutItem", "pagerduty#group#g1", "", {}, "allowed"),
    ("notify_pagerduty", PAGERDUTY, "GetItem", "slack#ref#g1", "the thread to link", {}, "allowed"),
    ("remediate", REMEDIATE, "PutItem", "remediate#cluster#prod", "its lock", {}, "allowed"),
    (
        "remediate",
        REMEDIATE,
        "GetItem",
        "cluster#prod",
        "old history, LegacyStateReads",
        {},
        "allowed",
    ),
    ("notify_slack", SLACK, "Query", "group#g1", "old parts, LegacyStateReads", {}, "allowed"),
]
"""(who, role, action, partition key, why, parameters, expected): DynamoDB calls outside and inside
each function's own partitions (`dynamodb:LeadingKeys`)."""

ATTEMPTS = [
    # --- AlertsTopic and its key: only the configured workspace ------------------------------------
    Attempt(
        "another AMP workspace of the account publishes to AlertsTopic",
        OWN,
        "service:aps.amazonaws.com",
        "sns:Publish",
        "AlertsTopic",
        "denied",
        _aps(OTHER_WS),
    ),
    Attempt(
        "the stack's own workspace publishes to AlertsTopic",
        OWN,
        "service:aps.amazonaws.com",
        "sns:Publish",
        "AlertsTopic",
        "allowed",
        _aps(cfn.OWN_WORKSPACE),
    ),
    Attempt(
        "another AMP workspace uses the topic key (kms:GenerateDataKey)",
        OWN,
        "service:aps.amazonaws.com",
        "kms:GenerateDataKey",
        "TopicKey",
        "denied",
        _aps(OTHER_WS),
    ),
    Attempt(
        "the stack's own workspace uses the topic key",
        OWN,
        "service:aps.amazonaws.com",
        "kms:GenerateDataKey",
        "TopicKey",
        "allowed",
        _aps(cfn.OWN_WORKSPACE),
    ),
    Attempt(
        "the configured external workspace publishes to AlertsTopic",
        EXTERNAL,
        "service:aps.amazonaws.com",
        "sns:Publish",
        "AlertsTopic",
        "allowed",
        _aps(EXTERNAL_WS),
    ),
    Attempt(
        "the configured external workspace uses the topic key",
        EXTERNAL,
        "service:aps.amazonaws.com",
        "kms:Decrypt",
        "TopicKey",
        "allowed",
        _aps(EXTERNAL_WS),
    ),
    Attempt(
        "another workspace publishes to AlertsTopic (external configured)",
        EXTERNAL,
        "service:aps.amazonaws.com",
        "sns:Publish",
        "AlertsTopic",
        "denied",
        _aps(OTHER_WS),
    ),
    Attempt(
        "the stack's would-be workspace name, when an external one is configured",
        EXTERNAL,
        "service:aps.amazonaws.com",
        "sns:Publish",
        "AlertsTopic",
        "denied",
        _aps(cfn.OWN_WORKSPACE),
    ),
    Attempt(
        "any workspace publishes to AlertsTopic when none is configured",
        NONE,
        "service:aps.amazonaws.com",
        "sns:Publish",
        "AlertsTopic",
        "denied",
        _aps(EXTERNAL_WS),
    ),
    Attempt(
        "AMP in another account (confused deputy) publishes to AlertsTopic",
        OWN,
        "service:aps.amazonaws.com",
        "sns:Publish",
        "AlertsTopic",
        "denied",
        {
            "aws:SourceArn": cfn.OWN_WORKSPACE.replace(cfn.ACCOUNT, "210987654321"),
            "aws:SourceAccount": "210987654321",
        },
    ),
    # --- EnrichedTopic: only enrich and remediate publish -------------------------------------------
    Attempt(
        "another role of the account (sns:Publish on *) publishes to EnrichedTopic",
        OWN,
        OTHER_ROLE,
        "sns:Publish",
        "EnrichedTopic",
        "denied",
        extra_identity=EVERYTHING,
    ),
    Attempt(
        "the Slack notifier's role publishes to EnrichedTopic",
        {**OWN, **NOTIFIERS},
        SLACK,
        "sns:Publish",
        "EnrichedTopic",
        "denied",
        extra_identity=EVERYTHING,
    ),
    Attempt(
        "the enrich role publishes to EnrichedTopic", OWN, ENRICH, "sns:Publish", "EnrichedTopic", "allowed"
    ),
    Attempt(
        "the remediate role publishes its report to EnrichedTopic",
        OWN,
        REMEDIATE,
        "sns:Publish",
        "EnrichedTopic",
        "allowed",
    ),
    # --- the coredns add-on: only of configured clusters ----------------------------------------------
    Attempt(
        "remediate updates the coredns add-on of an unconfigured cluster",
        EXTERNAL,
        REMEDIATE,
        "eks:UpdateAddon",
        _addon("payments"),
        "denied",
    ),
    Attempt(
        "remediate updates the vpc-cni add-on of a configured cluster",
        EXTERNAL,
        REMEDIATE,
        "eks:UpdateAddon",
        _addon("prod", "vpc-cni"),
        "denied",
    ),
    Attempt(
        "remediate updates the coredns add-on of a same-named cluster in another account",
        EXTERNAL,
        REMEDIATE,
        "eks:UpdateAddon",
        _addon("prod", account="210987654321"),
        "denied",
        {"aws:ResourceAccount": "210987654321"},
    ),
    Attempt(
        "remediate updates coredns of a configured cluster (EksClusterNames)",
        EXTERNAL,
        REMEDIATE,
        "eks:UpdateAddon",
        _addon("stage"),
        "allowed",
        {"aws:ResourceAccount": cfn.ACCOUNT},
    ),
    Attempt(
        "remediate describes coredns of ClusterName (EksClusterNames empty)",
        OWN,
        REMEDIATE,
        "eks:DescribeAddon",
        _addon("prod"),
        "allowed",
        {"aws:ResourceAccount": cfn.ACCOUNT},
    ),
    Attempt(
        "remediate updates coredns of another cluster (EksClusterNames empty)",
        OWN,
        REMEDIATE,
        "eks:UpdateAddon",
        _addon("stage"),
        "denied",
        {"aws:ResourceAccount": cfn.ACCOUNT},
    ),
    # --- the state table: only the actions each function's code calls --------------------------------
    *[
        Attempt(
            f"{who} dynamodb:{action} on the state table",
            {**OWN, **NOTIFIERS},
            role,
            f"dynamodb:{action}",
            "StateTable",
            "denied",
        )
        for who, role, action in [
            ("notify_slack", SLACK, "UpdateItem"),
            ("notify_slack", SLACK, "Scan"),
            ("notify_slack", SLACK, "BatchWriteItem"),
            ("notify_pagerduty", PAGERDUTY, "Query"),
            ("notify_pagerduty", PAGERDUTY, "Scan"),
            ("enrich", ENRICH, "Query"),
            ("enrich", ENRICH, "DescribeTable"),
            ("remediate", REMEDIATE, "Scan"),
            ("remediate", REMEDIATE, "Query"),
            ("remediate", REMEDIATE, "ConditionCheckItem"),
        ]
    ],
    # --- the state table: each function only in its own partitions (dynamodb:LeadingKeys) ------------
    *[
        Attempt(
            f"{who} dynamodb:{action} {pk}" + (f" ({why})" if why else ""),
            {**OWN, **NOTIFIERS, **parameters},
            role,
            f"dynamodb:{action}",
            "StateTable",
            expected,
            {"dynamodb:LeadingKeys": pk},
        )
        for who, role, action, pk, why, parameters, expected in PARTITION_ROWS
    ],
]


def _resource(rendered: cfn.Rendered, resource: str) -> str:
    if resource.startswith("arn:"):
        return resource
    kind = rendered.resources[resource]["Type"]
    if kind in ("AWS::KMS::Key", "AWS::DynamoDB::Table"):
        return cfn.attribute(resource, "Arn", rendered.resources)
    return rendered.arn(resource)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return cfn.load_template()


@pytest.mark.parametrize("attempt", ATTEMPTS, ids=[a.name for a in ATTEMPTS])
def test_aws_attempt(template: dict[str, Any], attempt: Attempt) -> None:
    """The rendered policies decide this call as the table expects."""
    rendered = cfn.render(attempt.parameters, template)
    request = cfn.Request(
        principal=attempt.principal,
        action=attempt.action,
        resource=_resource(rendered, attempt.resource),
        context=attempt.context or {},
        extra_identity=attempt.extra_identity,
    )
    got, by = cfn.decide(rendered, request)
    row = LEDGER.add(Row(attempt.name, "static", attempt.expected, got, by))
    assert row.ok, f"{attempt.name}: expected {attempt.expected}, got {got} ({by})"
