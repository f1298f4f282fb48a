"""The web console: pages served by `trailbridge serve` at `/console/` (plain HTML, CSS and JavaScript shipped in
`static/`, no build step, nothing fetched from elsewhere), acting through the server's own AWS API as the
signed-in key.

    app.py       the routes (pages, static files, sign-in/out, the API proxy, the Sandbox) and their checks
    proxy.py     a console call made again on `POST /` as a client would make it (signed under --auth)
    sessions.py  the signed session cookie and the CSRF token of each session
    sandbox.py   pattern tests with the engine's explanation and hints; a recorded call's event
    static/      index.html and login.html (templates), console.js (the pages), console.css, icon.svg
"""
