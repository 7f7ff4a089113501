"""SNS → Lambda for the local stack: what AWS does between a topic and a function, on a moto server.

Each function's event sources are read from template.yaml (SNS topic + FilterPolicy, or an SQS
queue). Every SNS source becomes an SQS queue subscribed to its topic with the same filter policy
(moto applies it and, unlike its HTTP delivery, keeps MessageAttributes). One worker process per
function (its own environment, as a Lambda has) polls its queues, turns each message into the
Lambda SNS or SQS event and calls the handler through `netguard_cli.commands.invoke.invoke`.
Run as `python -m netguard_cli.localstack.bridge SPEC_FILE` (the stack writes the spec).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import boto3
import yaml

from netguard.errors import NetguardError
from netguard_cli.commands.invoke import invoke


class BridgeError(NetguardError):
    """template.yaml could not be read into event sources."""


@dataclass(frozen=True)
class EventSource:
    """One event source of one function, as template.yaml declares it."""

    function: str
    """Folder name under functions/, e.g. `notify_pagerduty`."""
    name: str
    """The event's logical name in the template, e.g. `Enriched`."""
    kind: str
    """"sns" or "sqs"."""
    resource: str
    """The topic or queue's logical id, e.g. `EnrichedTopic`."""
    filter_policy: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class QueueBinding:
    """Where a worker polls for one event source (the spec the stack hands to a worker process)."""

    source: str
    """`function/EventName`."""
    kind: str
    queue_url: str
    queue_arn: str
    subscription_arn: str = ""
    batch_size: int = 1


@dataclass(frozen=True)
class WorkerSpec:
    function: str
    bindings: tuple[QueueBinding, ...]
    journal: str
    """A JSON-lines file the worker appends one line per invocation to."""
    max_receives: int = 3
    """Like Lambda's async retries (2) plus the first attempt: then the message is dropped and journalled."""
    region: str = "us-east-1"


# --- template.yaml -------------------------------------------------------------------------------


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags (`!Ref`, `!If`, ...) as their long-form dicts."""


def _cfn_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _cfn_tag)


def _resolve(value: Any, conditions: Mapping[str, bool]) -> Any:
    """`Fn::If` resolved with `conditions`; everything else as written."""
    if isinstance(value, dict):
        if set(value) == {"Fn::If"}:
            name, when_true, when_false = value["Fn::If"]
            if name not in conditions:
                raise BridgeError(f"template condition {name!r} has no value for the local stack")
            return _resolve(when_true if conditions[name] else when_false, conditions)
        return {k: _resolve(v, conditions) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, conditions) for v in value]
    return value


def _logical_id(ref: Any) -> str:
    if isinstance(ref, dict) and "Ref" in ref:
        return str(ref["Ref"])
    if isinstance(ref, dict) and "Fn::GetAtt" in ref:
        return str(ref["Fn::GetAtt"][0])
    raise BridgeError(f"cannot tell which resource {ref!r} names")


def event_sources(template_text: str, conditions: Mapping[str, bool]) -> list[EventSource]:
    """Every SNS and SQS event source of every function in a SAM template."""
    try:
        template = yaml.load(template_text, Loader=_CfnLoader)  # noqa: S506 -- SafeLoader subclass
    except yaml.YAMLError as exc:
        raise BridgeError(f"template.yaml is not valid YAML: {exc}") from exc
    sources = []
    for resource in (template.get("Resources") or {}).values():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = resource.get("Properties") or {}
        function = Path(str(properties.get("CodeUri", "")).rstrip("/")).name
        for name, event in (properties.get("Events") or {}).items():
            kind = str(event.get("Type", "")).lower()
            props = _resolve(event.get("Properties") or {}, conditions)
            if kind == "sns":
                sources.append(
                    EventSource(function, name, "sns", _logical_id(props["Topic"]), props.get("FilterPolicy"))
                )
            elif kind == "sqs":
                sources.append(EventSource(function, name, "sqs", _logical_id(props["Queue"])))
    return sources


# --- events --------------------------------------------------------------------------------------


def sns_event(envelope: Mapping[str, Any], subscription_arn: str, region: str) -> dict[str, Any]:
    """The Lambda event for one SNS notification (the JSON envelope SNS delivers to SQS)."""
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription_arn,
                "Sns": {
                    "Type": envelope.get("Type", "Notification"),
                    "MessageId": envelope.get("MessageId", ""),
                    "TopicArn": envelope.get("TopicArn", ""),
                    "Subject": envelope.get("Subject") or None,
                    "Message": envelope.get("Message", ""),
                    "Timestamp": envelope.get("Timestamp", ""),
                    "SignatureVersion": envelope.get("SignatureVersion", "1"),
                    "Signature": envelope.get("Signature", ""),
                    "SigningCertUrl": envelope.get("SigningCertURL", ""),
                    "UnsubscribeUrl": envelope.get("UnsubscribeURL", ""),
                    "MessageAttributes": dict(envelope.get("MessageAttributes") or {}),
                },
            }
        ]
    }


def sqs_event(messages: Sequence[Mapping[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The Lambda event for a batch of SQS messages (as ReceiveMessage returned them)."""
    records = []
    for message in messages:
        attributes = {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value.get("DataType", "String"),
            }
            for name, value in (message.get("MessageAttributes") or {}).items()
        }
        records.append(
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": dict(message.get("Attributes") or {}),
                "messageAttributes": attributes,
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
        )
    return {"Records": records}


# --- the worker ----------------------------------------------------------------------------------

Invoker = Callable[[str, Any], Any]


def _journal(path: str, entry: Mapping[str, Any]) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, default=str, separators=(",", ":")) + "\n")


def _short(value: Any, limit: int = 400) -> str:
    text = json.dumps(value, default=str, separators=(",", ":")) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 1] + "…"


def poll_once(spec: WorkerSpec, sqs: Any, invoke: Invoker, *, wait_seconds: int = 1) -> int:
    """One pass over the worker's queues; returns how many messages it handled."""
    handled = 0
    for binding in spec.bindings:
        response = sqs.receive_message(
            QueueUrl=binding.queue_url,
            # SNS invokes once per message anyway; an SQS source gets batches of its BatchSize.
            MaxNumberOfMessages=10 if binding.kind == "sns" else max(1, min(10, binding.batch_size)),
            WaitTimeSeconds=wait_seconds if len(spec.bindings) == 1 else 0,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages") or []
        if not messages:
            continue
        batches: list[list[dict[str, Any]]]
        batches = [[m] for m in messages] if binding.kind == "sns" else [messages]
        for batch in batches:
            handled += len(batch)
            _deliver(spec, binding, batch, sqs, invoke)
    return handled


def _deliver(
    spec: WorkerSpec, binding: QueueBinding, batch: list[dict[str, Any]], sqs: Any, invoke: Invoker
) -> None:
    entry: dict[str, Any] = {
        "t": time.time(),
        "function": spec.function,
        "source": binding.source,
        "kind": binding.kind,
    }
    if binding.kind == "sns":
        envelope = json.loads(batch[0]["Body"])
        event = sns_event(envelope, binding.subscription_arn, spec.region)
        entry["message_id"] = envelope.get("MessageId", "")
        entry["subject"] = envelope.get("Subject") or ""
        entry["attributes"] = {
            k: v.get("Value") for k, v in (envelope.get("MessageAttributes") or {}).items()
        }
    else:
        event = sqs_event(batch, binding.queue_arn, spec.region)
        entry["message_id"] = batch[0]["MessageId"]
    receives = max(int(m.get("Attributes", {}).get("ApproximateReceiveCount", "1")) for m in batch)
    entry["attempt"] = receives
    started = time.monotonic()
    result: Any = None
    try:
        result = invoke(spec.function, event)
    except Exception as exc:  # noqa: BLE001 -- any handler failure is what Lambda would retry
        entry.update(
            ok=False, error=f"{type(exc).__name__}: {exc}"[:600], trace=traceback.format_exc()[-2000:]
        )
        print(entry["trace"], file=sys.stderr, flush=True)
        done = receives >= spec.max_receives
        entry["gave_up"] = done
    else:
        entry.update(ok=True, result=_short(result))
        done = True
    entry["ms"] = round((time.monotonic() - started) * 1000)
    if done:
        failed = _batch_item_failures(result) if entry["ok"] and binding.kind == "sqs" else set()
        if failed and receives < spec.max_receives:
            entry.update(ok=False, error=f"batchItemFailures: {sorted(failed)}")
        for message in batch:
            if message["MessageId"] not in failed or receives >= spec.max_receives:
                sqs.delete_message(QueueUrl=binding.queue_url, ReceiptHandle=message["ReceiptHandle"])
    _journal(spec.journal, entry)


def _batch_item_failures(result: Any) -> set[str]:
    """Message ids a handler reported as failed (Lambda's ReportBatchItemFailures response)."""
    if not isinstance(result, dict):
        return set()
    return {str(item.get("itemIdentifier")) for item in result.get("batchItemFailures") or []}


def run_worker(spec: WorkerSpec) -> None:
    """Poll forever (until SIGTERM); the process is the function's warm container."""
    sqs = boto3.client("sqs", region_name=spec.region)
    _journal(spec.journal, {"t": time.time(), "function": spec.function, "event": "worker-started"})
    while True:
        try:
            poll_once(spec, sqs, invoke)
        except Exception as exc:  # noqa: BLE001 -- a moto hiccup must not end the worker
            print(f"bridge worker {spec.function}: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            time.sleep(1)


def spec_to_json(spec: WorkerSpec) -> str:
    return json.dumps(asdict(spec), indent=2)


def spec_from_json(text: str) -> WorkerSpec:
    data = json.loads(text)
    bindings = tuple(QueueBinding(**b) for b in data.pop("bindings"))
    return WorkerSpec(bindings=bindings, **data)


@dataclass
class BridgePlan:
    """What the stack created in moto for the bridge: a spec per function."""

    workers: dict[str, WorkerSpec] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    """function -> why it has no worker (e.g. its folder does not exist yet)."""


def create_bindings(
    sources: Sequence[EventSource],
    *,
    sns: Any,
    sqs: Any,
    topic_arns: Mapping[str, str],
    queue_urls: Mapping[str, str],
    journal: Path,
    region: str,
    available: Callable[[str], str | None],
) -> BridgePlan:
    """Queues and filtered subscriptions in moto for every source whose function is available.

    `available(function)` returns None when the function can run, else the reason it cannot."""
    plan = BridgePlan()
    by_function: dict[str, list[QueueBinding]] = {}
    for source in sources:
        reason = available(source.function)
        if reason is not None:
            plan.skipped[source.function] = reason
            continue
        label = f"{source.function}/{source.name}"
        if source.kind == "sns":
            if source.resource not in topic_arns:
                plan.skipped[label] = f"no local topic for {source.resource}"
                continue
            queue_url = sqs.create_queue(
                QueueName=f"bridge-{source.function}-{source.name}".replace("_", "-"),
                Attributes={"VisibilityTimeout": "10"},
            )["QueueUrl"]
            queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]
            attributes = {"FilterPolicy": json.dumps(source.filter_policy)} if source.filter_policy else {}
            subscription = sns.subscribe(
                TopicArn=topic_arns[source.resource],
                Protocol="sqs",
                Endpoint=queue_arn,
                Attributes=attributes,
                ReturnSubscriptionArn=True,
            )["SubscriptionArn"]
            binding = QueueBinding(label, "sns", queue_url, queue_arn, subscription)
        else:
            if source.resource not in queue_urls:
                plan.skipped[label] = f"no local queue for {source.resource}"
                continue
            queue_url = queue_urls[source.resource]
            queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]
            binding = QueueBinding(label, "sqs", queue_url, queue_arn)
        by_function.setdefault(source.function, []).append(binding)
    for function, bindings in by_function.items():
        plan.workers[function] = WorkerSpec(function, tuple(bindings), str(journal), region=region)
    return plan


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m netguard_cli.localstack.bridge", description=__doc__)
    parser.add_argument("spec", help="a worker spec (JSON) written by the local stack")
    args = parser.parse_args(argv)
    try:
        run_worker(spec_from_json(Path(args.spec).read_text()))
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
