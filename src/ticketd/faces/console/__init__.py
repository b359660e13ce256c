"""The web console: agents' queue and tickets, customers' portal, admins' pages (`/console/`)."""
