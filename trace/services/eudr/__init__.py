"""EUDR due diligence: plots, their geolocation, and the package of an export lot."""
