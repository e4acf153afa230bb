"""banditlb: an adaptive load balancer that learns which flaky, rate-limited backends to trust."""

__version__ = "0.1.0"
