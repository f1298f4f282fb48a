"""AWS operations, snake_case, boto3-style arguments and answers, mapped onto the engine."""
