"""The back office: server-rendered pages for the people who work with contacts (issue 25)."""
