"""Factories for the outside world: boto3 clients, the EKS token, the Kubernetes client."""
