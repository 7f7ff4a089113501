"""netguard: AMP alerts about EC2 network allowances, enriched, notified and remediated on EKS."""

__version__ = "0.1.0"
__all__ = ["__version__"]
