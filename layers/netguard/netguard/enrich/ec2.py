"""EC2 look-ups in bulk: DescribeInstances by filter (at most 200 values per filter, one request per
chunk, never one per alert) and DescribeInstanceTypes for network allowances, cached across warm
invocations with a bounded lifetime. Built with its boto3 client injected: `Ec2Enricher(ec2)`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from netguard.enrich.cache import TtlCache
from netguard.enrich.errors import EnrichError
from netguard.enrich.models import Ec2Lookup, TypeNetwork
from netguard.enriched.models import InstanceInfo

log = logging.getLogger(__name__)

MAX_FILTER_VALUES = 200
"""DescribeInstances accepts at most 200 values in one filter."""
MAX_TYPES_PER_CALL = 100
"""DescribeInstanceTypes accepts at most 100 instance types per request."""
DEFAULT_TYPE_LIFETIME = 6 * 3600.0
_STATE_PREFERENCE = {
    "running": 0,
    "pending": 1,
    "stopping": 2,
    "stopped": 3,
    "shutting-down": 4,
    "terminated": 5,
}

T = TypeVar("T")


def chunks(values: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class Ec2Enricher:
    """Instances and instance-type network facts for one region."""

    def __init__(
        self,
        ec2: Any,
        *,
        type_cache: TtlCache[str, TypeNetwork] | None = None,
        type_lifetime: float = DEFAULT_TYPE_LIFETIME,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._ec2 = ec2
        if type_cache is None:
            type_cache = TtlCache(type_lifetime, clock=clock) if clock else TtlCache(type_lifetime)
        self._types = type_cache
        self.calls: dict[str, int] = {}
        """Requests made, by `ec2 Operation`."""

    def instances(
        self, *, instance_ids: Iterable[str] = (), ips: Iterable[str] = (), dns_names: Iterable[str] = ()
    ) -> Ec2Lookup:
        """Every instance matching any of the keys: ceil(n/200) requests per kind of key."""
        found: dict[str, dict[str, Any]] = {}
        for filter_name, values in (
            ("instance-id", instance_ids),
            ("private-ip-address", ips),
            ("private-dns-name", (d.lower() for d in dns_names)),
        ):
            unique = sorted({v for v in values if v})
            for chunk in chunks(unique, MAX_FILTER_VALUES):
                for raw in self._describe_instances(filter_name, chunk):
                    found[raw["InstanceId"]] = raw
        infos = [_instance_info(raw) for raw in found.values()]
        # Prefer a running instance when a terminated one once had the same address.
        infos.sort(key=lambda i: _STATE_PREFERENCE.get(i.state, 9), reverse=True)
        return Ec2Lookup(
            by_id={i.instance_id: i for i in infos},
            by_ip={i.private_ip: i for i in infos if i.private_ip},
            by_dns={i.private_dns_name.lower(): i for i in infos if i.private_dns_name},
        )

    def type_networks(self, instance_types: Iterable[str]) -> dict[str, TypeNetwork]:
        """Network facts per instance type, from the cache or one request per 100 types."""
        wanted = sorted({t for t in instance_types if t})
        known = self._types.get_many(wanted)
        missing = [t for t in wanted if t not in known]
        fetched: dict[str, TypeNetwork] = {}
        for chunk in chunks(missing, MAX_TYPES_PER_CALL):
            response = self._call(
                "DescribeInstanceTypes", self._ec2.describe_instance_types, InstanceTypes=list(chunk)
            )
            for raw in response.get("InstanceTypes", []):
                fetched[raw["InstanceType"]] = _type_network(raw.get("NetworkInfo") or {})
        self._types.put_many(fetched)
        return {**known, **fetched}

    def with_networks(self, lookup: Ec2Lookup) -> Ec2Lookup:
        """The same look-up with each instance's type network facts filled in."""
        networks = self.type_networks(i.instance_type for i in lookup.by_id.values())

        def fill(info: InstanceInfo) -> InstanceInfo:
            network = networks.get(info.instance_type)
            return dataclasses.replace(info, **dataclasses.asdict(network)) if network else info

        return Ec2Lookup(
            by_id={k: fill(v) for k, v in lookup.by_id.items()},
            by_ip={k: fill(v) for k, v in lookup.by_ip.items()},
            by_dns={k: fill(v) for k, v in lookup.by_dns.items()},
        )

    def _describe_instances(self, filter_name: str, values: Sequence[str]) -> Iterator[dict[str, Any]]:
        # The largest page EC2 allows: one chunk of 200 keys is one request however the instances
        # are spread over reservations.
        kwargs: dict[str, Any] = {
            "Filters": [{"Name": filter_name, "Values": list(values)}],
            "MaxResults": 1000,
        }
        while True:
            response = self._call("DescribeInstances", self._ec2.describe_instances, **kwargs)
            for reservation in response.get("Reservations", []):
                yield from reservation.get("Instances", [])
            token = response.get("NextToken")
            if not token:
                return
            kwargs["NextToken"] = token

    def _call(self, operation: str, method: Callable[..., Any], **kwargs: Any) -> Any:
        key = f"ec2 {operation}"
        self.calls[key] = self.calls.get(key, 0) + 1
        try:
            return method(**kwargs)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise EnrichError(
                "ec2", f"{operation} failed: {error.get('Code', '')}: {error.get('Message', '')}"
            ) from exc
        except BotoCoreError as exc:
            raise EnrichError("ec2", f"{operation} failed: {exc}") from exc


def _instance_info(raw: dict[str, Any]) -> InstanceInfo:
    return InstanceInfo(
        instance_id=raw["InstanceId"],
        instance_type=raw.get("InstanceType", ""),
        availability_zone=(raw.get("Placement") or {}).get("AvailabilityZone", ""),
        private_ip=raw.get("PrivateIpAddress", "") or "",
        private_dns_name=raw.get("PrivateDnsName", "") or "",
        state=(raw.get("State") or {}).get("Name", ""),
    )


def _type_network(info: dict[str, Any]) -> TypeNetwork:
    cards = info.get("NetworkCards") or []
    baselines = [c["BaselineBandwidthInGbps"] for c in cards if c.get("BaselineBandwidthInGbps") is not None]
    peaks = [c["PeakBandwidthInGbps"] for c in cards if c.get("PeakBandwidthInGbps") is not None]
    return TypeNetwork(
        network_performance=info.get("NetworkPerformance", ""),
        baseline_bandwidth_gbps=round(sum(baselines), 3) if baselines else None,
        peak_bandwidth_gbps=round(sum(peaks), 3) if peaks else None,
        max_network_interfaces=info.get("MaximumNetworkInterfaces"),
        ena_support=info.get("EnaSupport", ""),
    )
