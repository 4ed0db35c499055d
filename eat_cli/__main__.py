from eat_cli.main import app

app()
