"""The AWS JSON wire protocol, driven by botocore's published service models."""
