from archlab.cli.main import app

app()
