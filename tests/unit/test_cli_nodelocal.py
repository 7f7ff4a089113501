"""`netguard nodelocal manifest` prints exactly the objects the NodeLocal DNSCache actuator applies."""

from __future__ import annotations

import pytest
import yaml

from netguard.remediate.actuators.nodelocal import render_manifest
from netguard_cli.main import main


class TestNodelocalManifest:
    def test_from_arguments_is_what_the_actuator_applies(self, capsys: pytest.CaptureFixture[str]) -> None:
        """With --kube-dns-ip no cluster is needed; the objects equal render_manifest's."""
        assert main(["nodelocal", "manifest", "--kube-dns-ip", "172.20.0.10", "--domain", "corp.local"]) == 0
        printed = [d for d in yaml.safe_load_all(capsys.readouterr().out) if d]
        assert printed == render_manifest("172.20.0.10", "169.254.20.10", "corp.local")
        (daemonset,) = [d for d in printed if d["kind"] == "DaemonSet"]
        assert (
            daemonset["spec"]["template"]["spec"]["containers"][0]["args"][1] == "169.254.20.10,172.20.0.10"
        )

    def test_needs_an_ip_or_a_cluster(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Without --kube-dns-ip and without a kubeconfig: exit 2 and say what to give."""
        monkeypatch.delenv("KUBECONFIG", raising=False)
        assert main(["nodelocal", "manifest"]) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        assert "--kube-dns-ip" in captured.err

    def test_a_bad_ip_is_refused(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["nodelocal", "manifest", "--kube-dns-ip", "not-an-ip"]) == 2
        assert "not an IP address" in capsys.readouterr().err
