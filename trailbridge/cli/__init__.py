"""trailbridge's command line."""
