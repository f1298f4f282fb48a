"""SNS: topics, subscriptions and the messages they deliver, signed as Amazon SNS signs them."""
