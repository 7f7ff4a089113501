"""The local stack: real components on loopback (moto, Alertmanager, Prometheus, a Kubernetes
control plane) for `make demo`, `netguard cluster up` and the integration tests. Not shipped to Lambda."""
