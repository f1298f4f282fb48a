"""The web console: pages served by `trailbridge serve` at `/console/` (plain HTML, CSS and JavaScript shipped in
`static/`, no build step), acting through the server's own AWS API as the signed-in key (`app.py`)."""
