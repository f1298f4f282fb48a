"""The EventBridge engine: buses, rules, routing, schedules."""
