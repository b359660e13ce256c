"""HTTP plumbing shared by every face: the app factory, guards, negotiation, the server."""
