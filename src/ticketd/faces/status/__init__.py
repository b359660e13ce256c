"""The public status page, and the same data in Atlassian Statuspage's public v2 JSON format."""
