"""trailbridge: a self-hostable CloudTrail + EventBridge."""

__version__ = "0.1.0"
