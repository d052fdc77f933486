from mediation.cli import app

app()
