"""stakeholders."""
