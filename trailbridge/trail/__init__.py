"""CloudTrail: API calls as CloudTrail records, kept for LookupEvents."""
