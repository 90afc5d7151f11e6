"""Run services the CLI, the web app and the Python API call: lifecycle, control, workspace, settings,
doctor, one-off eval, reproduce, chat session opening. Nothing here prints."""
