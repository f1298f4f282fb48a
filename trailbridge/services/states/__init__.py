"""AWS Step Functions (`stepfunctions`, json protocol): state machines and their durable executions."""
