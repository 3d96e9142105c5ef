from rootrepair.cli import app

app(prog_name="rootrepair")
