"""People (clients and prospects), consents, visits, vehicles, deliveries, sales and conversions."""
