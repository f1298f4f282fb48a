"""Plain values of the EventBridge model: names, ARNs, buses, rules, targets. No I/O."""
