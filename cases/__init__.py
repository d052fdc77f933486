"""Case services that both the API and the CLI use: intake and the history told for people."""
