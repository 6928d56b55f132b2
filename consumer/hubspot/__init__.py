"""HubSpot Single Send API: models, result taxonomy, auth, rate limiter, client, simulator."""
