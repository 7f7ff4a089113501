"""The EKS bearer token: a presigned STS GetCallerIdentity URL with the cluster name signed in."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlparse

import boto3

from netguard.clients.eks import CachedToken, eks_token


def _decode(token: str) -> str:
    body = token.removeprefix("k8s-aws-v1.")
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()


def test_token_is_a_presigned_sts_url_signing_the_cluster_header() -> None:
    session = boto3.session.Session(
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret-never-shown", region_name="eu-west-1"
    )
    token = eks_token("prod-cluster", "eu-west-1", session=session)
    assert token.startswith("k8s-aws-v1.")
    assert "=" not in token
    url = urlparse(_decode(token))
    query = parse_qs(url.query)
    assert url.netloc == "sts.eu-west-1.amazonaws.com"
    assert query["Action"] == ["GetCallerIdentity"]
    assert "x-k8s-aws-id" in query["X-Amz-SignedHeaders"][0].split(";")
    assert query["X-Amz-Expires"] == ["60"]
    assert "secret-never-shown" not in token


def test_cached_token_refreshes_before_expiry() -> None:
    now = [0.0]
    minted: list[str] = []

    def mint() -> str:
        minted.append(f"t{len(minted)}")
        return minted[-1]

    provider = CachedToken(mint, lifetime=840, clock=lambda: now[0])
    assert provider() == "t0"
    now[0] = 839
    assert provider() == "t0"
    now[0] = 840
    assert provider() == "t1"
