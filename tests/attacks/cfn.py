"""template.yaml rendered for one set of parameters, and its IAM evaluated, without AWS.

moto does not enforce IAM, topic or key policies, so the AWS rows of the attack table are decided here:
`render` resolves the intrinsic functions the template uses (Ref, Sub, GetAtt, If, Join, Split,
Select, conditions; SAM's two policy templates netguard still uses are expanded to what SAM makes of
them), and `decide` applies IAM's evaluation logic for one account: an explicit Deny anywhere wins;
otherwise an Allow in the caller's identity policy or in the resource's policy allows. Only the
condition operators the template uses are known; any other is an error, never a silent match.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
REGION = "us-east-1"
PARTITION = "aws"
STACK = "netguard"
NO_VALUE = object()
_SUB = re.compile(r"\$\{([A-Za-z0-9:._]+)\}")


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags kept as {"Fn::Name": value}."""


def _tag(loader: _CfnLoader, suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if suffix == "Ref" else ("Condition" if suffix == "Condition" else f"Fn::{suffix}")
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        assert isinstance(node, yaml.MappingNode), node  # yaml has these three node kinds only
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


def load_template(path: Path = ROOT / "template.yaml") -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 -- SafeLoader subclass
    return loaded


def role_arn(function: str) -> str:
    return f"arn:{PARTITION}:iam::{ACCOUNT}:role/{STACK}-{function}Role"


def workspace_arn(workspace_id: str) -> str:
    return f"arn:{PARTITION}:aps:{REGION}:{ACCOUNT}:workspace/{workspace_id}"


OWN_WORKSPACE = workspace_arn("ws-stack-own")
"""What `!Ref AmpWorkspace` returns in a rendering (its ARN)."""


@dataclass
class Rendered:
    """The template with every intrinsic resolved for one set of parameters."""

    resources: dict[str, Any]
    identity: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Role ARN -> the statements of the policies attached to it."""
    resource_policies: list[tuple[list[str], list[dict[str, Any]]]] = field(default_factory=list)
    """(resource ARNs the policy is attached to, its statements): topic and key policies."""

    def arn(self, logical_id: str) -> str:
        return _physical(logical_id, self.resources)


def _physical(logical_id: str, resources: Mapping[str, Any]) -> str:
    """The ARN (or name) `!Ref` returns for a resource, as CloudFormation would give it."""
    resource = resources[logical_id]
    kind = resource["Type"]
    props = resource.get("Properties") or {}
    if kind == "AWS::SNS::Topic":
        name = props.get("TopicName") or f"{STACK}-{logical_id}"
        if isinstance(name, dict):  # !Sub "${AWS::StackName}-...": the only form a name takes here
            name = name["Fn::Sub"].replace("${AWS::StackName}", STACK)
        return f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:{name}"
    if kind == "AWS::APS::Workspace":
        return OWN_WORKSPACE
    if kind == "AWS::KMS::Key":
        return f"{logical_id}-key-id"
    if kind == "AWS::SQS::Queue":
        return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{STACK}-{logical_id}"
    return f"{STACK}-{logical_id}"


def attribute(logical_id: str, name: str, resources: Mapping[str, Any]) -> str:
    if logical_id.endswith("Role") and name == "Arn":
        return role_arn(logical_id.removesuffix("Role"))
    kind = resources[logical_id]["Type"]
    if kind == "AWS::DynamoDB::Table" and name == "Arn":
        return f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{_physical(logical_id, resources)}"
    if kind == "AWS::KMS::Key" and name == "Arn":
        return f"arn:{PARTITION}:kms:{REGION}:{ACCOUNT}:key/{logical_id}-key-id"
    if kind == "AWS::SQS::Queue" and name == "Arn":
        return f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{STACK}-{logical_id}"
    if kind == "AWS::SQS::Queue" and name == "QueueName":
        return f"{STACK}-{logical_id}"
    if kind == "AWS::SNS::Topic" and name == "TopicName":
        return _physical(logical_id, resources).rsplit(":", 1)[1]
    if kind == "AWS::S3::Bucket" and name == "Arn":
        return f"arn:{PARTITION}:s3:::{STACK}-{logical_id.lower()}"
    raise AssertionError(f"no rendering for {logical_id}.{name}")


class Resolver:
    def __init__(self, template: Mapping[str, Any], parameters: Mapping[str, Any]) -> None:
        self.resources = template["Resources"]
        self.parameters: dict[str, Any] = {}
        for name, spec in template["Parameters"].items():
            value = parameters.get(name, spec.get("Default"))
            if value is None:
                raise AssertionError(f"parameter {name} has no default: give it")
            if spec["Type"] == "CommaDelimitedList" and isinstance(value, str):
                value = value.split(",")
            self.parameters[name] = value
        self.pseudo = {
            "AWS::AccountId": ACCOUNT,
            "AWS::Region": REGION,
            "AWS::Partition": PARTITION,
            "AWS::StackName": STACK,
        }
        self._conditions_src = template.get("Conditions") or {}
        self.conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = bool(self.value(self._conditions_src[name]))
        return self.conditions[name]

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        return _physical(name, self.resources)

    def sub(self, text: str, variables: Mapping[str, Any]) -> str:
        def one(match: re.Match[str]) -> str:
            key = match.group(1)
            if key in variables:
                return str(variables[key])
            if "." in key:
                logical, name = key.split(".", 1)
                return attribute(logical, name, self.resources)
            return str(self.ref(key))

        return _SUB.sub(one, text)

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self.value(item) for item in node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref":
                return self.ref(arg)
            if key in ("Condition", "Fn::Condition"):  # other loaders name the short form Fn::Condition
                return self.condition(arg)
            if key == "Fn::Sub":
                if isinstance(arg, str):
                    return self.sub(arg, {})
                text, variables = arg
                return self.sub(text, {k: self.value(v) for k, v in variables.items()})
            if key == "Fn::GetAtt":
                return attribute(arg[0], arg[1], self.resources)
            if key == "Fn::If":
                name, yes, no = arg
                return self.value(yes if self.condition(name) else no)
            if key == "Fn::Join":
                separator, items = arg
                return separator.join(str(i) for i in self.value(items))
            if key == "Fn::Split":
                separator, text = arg
                return str(self.value(text)).split(separator)
            if key == "Fn::Select":
                index, items = arg
                return self.value(items)[int(self.value(index))]
            if key == "Fn::Equals":
                left, right = (self.value(a) for a in arg)
                return left == right
            if key == "Fn::Not":
                return not self.value(arg[0])
            if key == "Fn::Or":
                return any(self.value(a) for a in arg)
            if key == "Fn::And":
                return all(self.value(a) for a in arg)
        return {k: v for k, v in ((k, self.value(v)) for k, v in node.items()) if v is not NO_VALUE}


def _sam_policy(policy: Mapping[str, Any], resolver: Resolver) -> list[dict[str, Any]]:
    """What SAM makes of the policy templates the template uses (samtranslator's policy_templates.json)."""
    ((name, args),) = policy.items()
    values = {k: resolver.value(v) for k, v in args.items()}
    if name == "SNSPublishMessagePolicy":
        topic = f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:{values['TopicName']}"
        return [{"Effect": "Allow", "Action": ["sns:Publish"], "Resource": topic}]
    if name == "SQSSendMessagePolicy":
        queue = f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{values['QueueName']}"
        return [{"Effect": "Allow", "Action": ["sqs:SendMessage*"], "Resource": queue}]
    if name == "DynamoDBCrudPolicy":  # what the template used before each function got its own actions
        table = f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{values['TableName']}"
        crud = [
            "GetItem",
            "DeleteItem",
            "PutItem",
            "Scan",
            "Query",
            "UpdateItem",
            "BatchWriteItem",
            "BatchGetItem",
            "DescribeTable",
            "ConditionCheckItem",
        ]
        return [
            {
                "Effect": "Allow",
                "Action": [f"dynamodb:{a}" for a in crud],
                "Resource": [table, f"{table}/index/*"],
            }
        ]
    raise AssertionError(f"SAM policy template {name} is not rendered here: add it")


def render(parameters: Mapping[str, Any], template: Mapping[str, Any] | None = None) -> Rendered:
    """The template's policies for `parameters` (with the defaults for the others)."""
    template = template if template is not None else load_template()
    resolver = Resolver(template, parameters)
    rendered = Rendered(resources=template["Resources"])
    for logical_id, resource in template["Resources"].items():
        condition = resource.get("Condition")
        if condition is not None and not resolver.condition(condition):
            continue
        kind, props = resource["Type"], resource.get("Properties") or {}
        if kind == "AWS::Serverless::Function":
            statements: list[dict[str, Any]] = []
            for policy in props.get("Policies") or []:
                if isinstance(policy, dict) and "Statement" in policy:
                    statements.extend(resolver.value(policy["Statement"]))
                elif isinstance(policy, dict):
                    statements.extend(_sam_policy(policy, resolver))
            rendered.identity[role_arn(logical_id)] = statements
        elif kind == "AWS::SNS::TopicPolicy":
            topics = [str(t) for t in resolver.value(props["Topics"])]
            rendered.resource_policies.append((topics, resolver.value(props["PolicyDocument"]["Statement"])))
        elif kind == "AWS::KMS::Key":
            key = attribute(logical_id, "Arn", template["Resources"])
            rendered.resource_policies.append(([key], resolver.value(props["KeyPolicy"]["Statement"])))
    return rendered


# --- evaluation ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One API call: who makes it, what, on which resource, with which request context keys."""

    principal: str
    """A role ARN, or `service:aps.amazonaws.com` for a service principal."""
    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)
    extra_identity: tuple[dict[str, Any], ...] = ()
    """Statements of the caller's own identity policy when it is not one of the stack's roles."""


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def matches(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value.lower(), pattern.lower())


def _arn_matches(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern)


_OPERATORS: dict[str, tuple[Callable[[str, str], bool], bool]] = {
    "StringEquals": (lambda p, v: p == v, False),
    "StringLike": (lambda p, v: fnmatch.fnmatchcase(v, p), False),
    "ArnEquals": (lambda p, v: p == v, False),
    "ArnLike": (_arn_matches, False),
    "ArnNotEquals": (lambda p, v: p == v, True),
    "ArnNotLike": (_arn_matches, True),
    "StringNotEquals": (lambda p, v: p == v, True),
    "Bool": (lambda p, v: str(p).lower() == str(v).lower(), False),
}


def _conditions_hold(conditions: Mapping[str, Mapping[str, Any]], context: Mapping[str, str]) -> bool:
    for qualified, keys in conditions.items():
        qualifier, _, operator = qualified.rpartition(":")
        if operator not in _OPERATORS or qualifier not in ("", "ForAllValues"):
            raise AssertionError(f"condition operator {qualified} is not evaluated here: add it")
        test, negated = _OPERATORS[operator]
        if qualifier == "ForAllValues":
            # Every value of the (multivalued) key must match a pattern. As in IAM, a request without
            # the key matches too: that is why every LeadingKeys grant also names its actions, which
            # always carry the key (GetItem, PutItem, DeleteItem, Query).
            for key, patterns in keys.items():
                value = context.get(key)
                if value is not None and not any(test(str(p), value) for p in as_list(patterns)):
                    return False
            continue
        for key, patterns in keys.items():
            value = context.get(key)
            any_match = value is not None and any(test(str(p), value) for p in as_list(patterns))
            if any_match == negated:  # negated operators hold when no value matches (or the key is absent)
                return False
    return True


def _principal_matches(principal: Any, caller: str) -> bool:
    if principal == "*":
        return True
    for kind, values in principal.items():
        for value in as_list(values):
            if kind == "Service" and caller == f"service:{value}":
                return True
            # An account's root principal delegates to that account's identity policies: it grants
            # nothing to a role by itself.
            if kind == "AWS" and value == caller:
                return True
    return False


def _applies(statement: Mapping[str, Any], request: Request, *, resource_policy: bool) -> bool:
    if resource_policy and not _principal_matches(statement.get("Principal", {}), request.principal):
        return False
    if not any(matches(a, request.action) for a in as_list(statement["Action"])):
        return False
    # In a key or topic policy, "*" means the resource the policy is attached to.
    if not any(_arn_matches(r, request.resource) for r in as_list(statement["Resource"])):
        return False
    return _conditions_hold(
        statement.get("Condition") or {}, {**request.context, "aws:PrincipalArn": request.principal}
    )


def decide(rendered: Rendered, request: Request) -> tuple[str, str]:
    """("denied" | "allowed", what decided it)."""
    identity = [*rendered.identity.get(request.principal, []), *request.extra_identity]
    attached = [
        statement
        for resources, statements in rendered.resource_policies
        if request.resource in resources
        for statement in statements
    ]
    for statement in identity:
        if statement["Effect"] == "Deny" and _applies(statement, request, resource_policy=False):
            return "denied", "explicit Deny (identity policy)"
    for statement in attached:
        if statement["Effect"] == "Deny" and _applies(statement, request, resource_policy=True):
            return "denied", f"explicit Deny ({statement.get('Sid', 'resource policy')})"
    for statement in identity:
        if statement["Effect"] == "Allow" and _applies(statement, request, resource_policy=False):
            return "allowed", "identity policy"
    for statement in attached:
        if statement["Effect"] == "Allow" and _applies(statement, request, resource_policy=True):
            return "allowed", str(statement.get("Sid", "resource policy"))
    return "denied", "no Allow"
