"""DTOs, enums and the Policy (what workflows see) and, in `models.tables`, the SQLModel
tables (what activities and the API see). Importing this package imports neither."""
