"""The API faces: ticketd's native API and the vendor APIs it reproduces. Each translates its wire format to core calls."""
