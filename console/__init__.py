"""The browser console (DESIGN §10): server-rendered pages at `/`, same origin as the API."""
